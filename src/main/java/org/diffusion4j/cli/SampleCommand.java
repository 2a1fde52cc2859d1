package org.diffusion4j.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.diffusion4j.guidance.Guidance;
import org.diffusion4j.sampling.SampleJob;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "sample", mixinStandardHelpOptions = true,
        description = "Sample a checkpoint (or a diffusers model folder): image grids or PNGs, or for 2-D data a plot "
                + "with sliced-Wasserstein and MMD against fresh data.")
final class SampleCommand implements Callable<Integer>, Main.MemoryBound {
    @Override
    public String toNeedLess() {
        return "lower --batch-size";
    }

    @Option(names = "--checkpoint", description = "The .safetensors checkpoint (default: a shipped model, see --model).")
    Path checkpoint;

    @Option(names = "--model", description = "A model shipped in models/: mnist (digits), mnist-classes (digits by "
            + "class, for --class) or fashion-mnist (clothing) (default: mnist, or mnist-classes with --class).")
    String model;

    @Option(names = "--diffusers", description = "Sample a diffusers model folder instead: config.json + "
            + "diffusion_pytorch_model.safetensors (+ scheduler_config.json), or a pipeline folder with unet/ and "
            + "scheduler/ (e.g. google/ddpm-cifar10-32).")
    Path diffusers;

    @Mixin
    SamplerOptions sampler;

    @Mixin
    DeviceOptions device;

    @Option(names = "--class", description = "For class-conditional models: the class to sample, or all (image grid, "
            + "one row per class) (default: the model's unconditional distribution).")
    String classLabel;

    @Option(names = "--guidance", defaultValue = "1", description = "Classifier-free guidance weight w: uncond + "
            + "w (cond - uncond); 1 = none, 3 is a common choice (default: ${DEFAULT-VALUE}).")
    double guidance;

    @Option(names = "--guidance-rescale", defaultValue = "0", description = "Guidance rescale phi in [0, 1] (Lin et al. "
            + "2024), on the x0 prediction: counters over-saturation at large --guidance; 0.7 is the paper's choice "
            + "(default: ${DEFAULT-VALUE}).")
    double guidanceRescale;

    @Option(names = "--guidance-interval", split = ",", paramLabel = "LOW,HIGH", description = "Guide only at noise "
            + "levels with sigma/alpha in (LOW, HIGH] (Kynkaanniemi et al. 2024; e.g. 0.28,5.42); elsewhere the "
            + "conditional prediction alone, in one pass (default: every level).")
    List<Double> guidanceInterval;

    @Option(names = "--n", description = "Number of samples (default: 2000 for 2-D data, 64 for images).")
    Integer n;

    @Option(names = "--seed", defaultValue = "0",
            description = "Sample i depends only on (seed, class, i): --class 7 gives row 7 of --class all "
                    + "(default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--batch-size", defaultValue = "500", description = "Samples per forward pass (default: ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(names = "--no-ema", description = "Use the raw weights instead of their EMA.")
    boolean noEma;

    @Option(names = "--out", description = "PNG file (scatter plot for 2-D data, grid for images), or a folder with "
            + "--format png (default: samples-<timestamp>.png or samples-<timestamp>/).")
    Path out;

    @Option(names = "--format", defaultValue = "grid", description = "grid (one PNG) or png (one PNG per sample, "
            + "images only) (default: ${DEFAULT-VALUE}).")
    String format;

    @Option(names = "--csv", description = "Also write the samples as CSV.")
    Path csv;

    @Option(names = "--gif", description = "Also write the first batch's denoising (x_t | predicted x0) as an animated GIF.")
    Path gif;

    @Option(names = "--overwrite", description = "Replace existing outputs.")
    boolean overwrite;

    @Mixin
    StartOptions start;

    @Override
    public Integer call() throws Exception {
        SampleOutput.Format f = TrainOptions.named("--format", () -> switch (format) {
            case "grid" -> SampleOutput.Format.GRID;
            case "png" -> SampleOutput.Format.PNG;
            default -> throw new IllegalArgumentException("unknown format '" + format + "'; expected grid or png");
        });
        if ((diffusers != null ? 1 : 0) + (checkpoint != null ? 1 : 0) + (model != null ? 1 : 0) > 1) {
            throw new IllegalArgumentException("--checkpoint, --diffusers and --model are alternatives; give one");
        }
        Path ck = diffusers != null ? null : checkpoint != null ? checkpoint
                : shippedModel(model != null ? model : classLabel != null ? "mnist-classes" : "mnist");
        Path target = out != null ? out : Path.of("samples-" + LocalDateTime.now().format(
                DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")) + (f == SampleOutput.Format.PNG ? "" : ".png"));
        SampleJob.Conditioning conditioning = classLabel == null ? SampleJob.Conditioning.NONE
                : classLabel.equals("all") ? new SampleJob.Conditioning.EveryClass()
                : TrainOptions.named("--class", () -> {
                    try {
                        int k = Integer.parseInt(classLabel);
                        if (k < 0) {
                            throw new IllegalArgumentException("class must be >= 0 or all, got " + k);
                        }
                        return new SampleJob.Conditioning.OneClass(k);
                    } catch (NumberFormatException e) {
                        throw new IllegalArgumentException("expected a class number or all, got '" + classLabel + "'");
                    }
                });
        if (guidanceInterval != null && guidanceInterval.size() != 2) {
            throw new IllegalArgumentException("--guidance-interval takes LOW,HIGH, got " + guidanceInterval);
        }
        Guidance g = TrainOptions.named("--guidance/--guidance-rescale/--guidance-interval",
                () -> new Guidance(guidance, guidanceRescale,
                        guidanceInterval == null ? 0 : guidanceInterval.get(0),
                        guidanceInterval == null ? Double.POSITIVE_INFINITY : guidanceInterval.get(1)));
        Runs.InitFiles init = start.files();
        Runs.sample(new ModelSource(ck, diffusers, !noEma, device.toDevice()), sampler::toSpec, conditioning, g, n, seed,
                batchSize, init, new SampleOutput(target, f, csv, gif, overwrite), System.out);
        return 0;
    }

    /** The models shipped in the repository's models/ folder, by {@code --model} name. */
    static final Map<String, String> SHIPPED = new LinkedHashMap<>();

    static {
        SHIPPED.put("mnist", "mnist-unet.safetensors");
        SHIPPED.put("mnist-classes", "mnist-classes-unet.safetensors");
        SHIPPED.put("fashion-mnist", "fashion-mnist-unet.safetensors");
    }

    /** The pretrained unconditional MNIST model (found through the launcher's diffusion4j.home). */
    static Path shippedModel() {
        return shippedModel("mnist");
    }

    /** Every shipped model present, in {@link #SHIPPED}'s order; refuses when there is none. */
    static List<Path> shippedModels() {
        List<Path> out = new ArrayList<>();
        for (String file : SHIPPED.values()) {
            Path p = Path.of(System.getProperty("diffusion4j.home", "."), "models", file);
            if (Files.isRegularFile(p)) {
                out.add(p);
            }
        }
        return out.isEmpty() ? List.of(shippedModel()) : out;
    }

    /** A shipped model by name (found through the launcher's diffusion4j.home). */
    static Path shippedModel(String name) {
        String file = SHIPPED.get(name);
        if (file == null) {
            throw new IllegalArgumentException("--model: unknown model '" + name + "'; shipped: " + SHIPPED.keySet());
        }
        Path p = Path.of(System.getProperty("diffusion4j.home", "."), "models", file);
        if (!Files.isRegularFile(p)) {
            throw new IllegalArgumentException("--checkpoint is required: no shipped model at " + p);
        }
        return p;
    }
}
