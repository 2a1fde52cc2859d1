package org.diffusion4j.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ProgressBar;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.diffusion4j.checkpoint.Json;
import org.diffusion4j.checkpoint.Safetensors;
import org.diffusion4j.data.ImageFile;
import org.diffusion4j.diffusers.DiTPipeline;
import org.diffusion4j.diffusers.StableDiffusion;
import org.diffusion4j.render.ImageGrid;
import org.diffusion4j.sampler.DdpmSampler;
import org.diffusion4j.sampler.StepListener;
import org.diffusion4j.sampler.Steps;
import org.diffusion4j.sampling.SamplerSpec;
import org.diffusion4j.schedule.TimestepSpacing;
import org.diffusion4j.tensor.Tensors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "generate", mixinStandardHelpOptions = true,
        description = "Text-to-image, img2img and inpainting with a diffusers Stable Diffusion pipeline folder (SD "
                + "1.x/2.x and their inpainting models: model_index.json, tokenizer/, text_encoder/, unet/, vae/, "
                + "scheduler/; safetensors weights in float32, float16 or bfloat16), or class-to-image with a diffusers "
                + "DiTPipeline folder (transformer/, vae/, scheduler/) and --class. Writes PNGs carrying the prompt or "
                + "class, seed, sampler and steps in text chunks.")
final class GenerateCommand implements Callable<Integer>, Main.MemoryBound {
    @Override
    public String toNeedLess() {
        return "lower --batch-size, or --width/--height";
    }

    @Option(names = "--model", description = "The pipeline folder (default: models/mnist-text, the text-to-image "
            + "model trained here on MNIST: \"the digit seven\", \"a handwritten 3\", ...).")
    Path model;

    @Option(names = "--prompt", description = "What to draw (Stable Diffusion pipelines).")
    String prompt;

    @Option(names = "--class", split = ",", description = "DiT pipelines: the class to draw, or one per image "
            + "(e.g. 1,3 with --n 2).")
    List<Integer> classes;

    @Option(names = "--guided-channels", defaultValue = "0", description = "DiT pipelines: guide only the first K "
            + "latent channels, as the original DiT code (3); 0 guides all of them, as diffusers (default: "
            + "${DEFAULT-VALUE}).")
    int guidedChannels;

    @Option(names = "--variance", defaultValue = "fixed_small", description = "With --sampler ddpm: fixed_small, "
            + "fixed_large, or learned_range (a DiT with learned sigma) (default: ${DEFAULT-VALUE}).")
    String variance;

    @Option(names = "--negative-prompt", description = "What to steer away from (used with --guidance above 1; "
            + "default: the empty prompt, as diffusers).")
    String negativePrompt;

    @Option(names = "--guidance", description = "Classifier-free guidance scale; 1 or below runs the prompt or "
            + "class alone, in one pass per step (default: 7.5 for Stable Diffusion, 4 for DiT, as diffusers).")
    Double guidanceOption;

    private double guidance;

    @Option(names = "--steps", defaultValue = "25", description = "Denoising steps (default: ${DEFAULT-VALUE}).")
    int steps;

    @Option(names = "--sampler", description = "One of diffusion4j's samplers on the pipeline's training schedule: "
            + "ddpm, ddim, euler, euler-a, heun, dpm++2m, dpm++2m-sde, dpm++3m, dpm++3m-sde, pndm or ge (default: "
            + "the folder's scheduler, run as diffusers runs it).")
    String sampler;

    @Option(names = "--karras", description = "With --sampler: Karras et al. sigmas (rho 7).")
    boolean karras;

    @Option(names = "--scheduler", description = "A diffusers scheduler folder or scheduler_config.json to use instead "
            + "of the pipeline's (its _class_name picks the class), as pipe.scheduler = X.from_config(...).")
    Path scheduler;

    @Option(names = "--seed", defaultValue = "0", description = "Image i depends only on (seed, i) (default: "
            + "${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--width", description = "Image width in pixels, a multiple of the model's size step (64 for SD) "
            + "(default: the U-Net's sample size x 8, 512 for SD 1.5).")
    Integer width;

    @Option(names = "--height", description = "Image height in pixels (default: as --width).")
    Integer height;

    @Option(names = "--n", defaultValue = "1", description = "Number of images (default: ${DEFAULT-VALUE}).")
    int n;

    @Option(names = "--batch-size", defaultValue = "1", description = "Images per U-Net pass (default: "
            + "${DEFAULT-VALUE}).")
    int batchSize;

    @Option(names = "--bf16", description = "Run the U-Net under bfloat16 autocast (faster on CPUs with bf16 units).")
    boolean bf16;

    @Option(names = "--clip-skip", defaultValue = "0", description = "Condition on the text encoder's hidden state "
            + "this many layers before the last (default: ${DEFAULT-VALUE}).")
    int clipSkip;

    @Option(names = "--latents", description = "Starting noise instead of drawing it: a .safetensors file holding one "
            + "float tensor [n, 4, h, w] (diffusers' latents argument); it fixes --n and the size.")
    Path latents;

    @Mixin
    StartOptions start;

    @Option(names = "--out", defaultValue = "image.png", description = "PNG file; with --n above 1, NAME-0.png, "
            + "NAME-1.png, ... (default: ${DEFAULT-VALUE}).")
    Path out;

    @Option(names = "--overwrite", description = "Replace existing images.")
    boolean overwrite;

    @Override
    public Integer call() throws Exception {
        run(System.out);
        return 0;
    }

    /** The text model shipped in the repository's models/ folder (found through the launcher's diffusion4j.home). */
    static Path shippedModel() {
        Path p = shippedFolder();
        if (!Files.isRegularFile(p.resolve("model_index.json"))) {
            throw new IllegalArgumentException("no --model given, and the shipped text model " + p + " is missing "
                    + "(it comes with the repository; or pass --model DIR, a diffusers pipeline folder)");
        }
        return p;
    }

    /** Where the shipped text model lives, whether or not it is there. */
    static Path shippedFolder() {
        return Path.of(System.getProperty("diffusion4j.home", "."), "models", SHIPPED);
    }

    /** The shipped text-to-image model's folder name under models/. */
    static final String SHIPPED = "mnist-text";

    void run(PrintStream stdout) throws IOException {
        OutputPaths.requireExtension(out, "--out", ".png");
        if (model == null) {
            model = shippedModel();
        }
        if (DiTPipeline.isDiT(model)) {
            guidance = guidanceOption == null ? 4.0 : guidanceOption;
            runDit(stdout);
            return;
        }
        guidance = guidanceOption == null ? 7.5 : guidanceOption;
        if (prompt == null) {
            throw new IllegalArgumentException("--prompt is required for a Stable Diffusion pipeline (" + model + ")");
        }
        if (classes != null) {
            throw new IllegalArgumentException("--class is for DiT pipelines; " + model + " takes a --prompt");
        }
        try (PointerScope scope = new PointerScope()) {
            Tensor latentsStart = latents == null ? null : readLatents(latents);
            int count = count(latentsStart);
            Runs.InitFiles from = start.files();
            List<Path> files = outputs(count);
            for (Path f : files) {
                OutputPaths.check(f, "--out", overwrite, model, latents, start.image, start.mask);
            }
            StableDiffusion sd = StableDiffusion.load(model);
            StableDiffusion.Init init = null;
            if (from != null) {
                Tensor image = ImageFile.read(from.image(), sd.imageChannels(), width == null ? 0 : width,
                        height == null ? 0 : height);
                Tensor m = from.mask() == null ? null : ImageFile.read(from.mask(), 1, (int) image.size(3),
                        (int) image.size(2));
                init = TrainOptions.named("--strength", () -> new StableDiffusion.Init(
                        image.mul(Tensors.scalar(2)).sub(Tensors.scalar(1)), from.strengthOrDefault(), m));
            }
            if (scheduler != null) {
                JsonNode config = readScheduler(scheduler);
                StableDiffusion pipeline = sd;
                sd = TrainOptions.named("--scheduler " + scheduler, () -> pipeline.withScheduler(config));
            }
            StableDiffusion.Request r = TrainOptions.named("--prompt/--guidance/--steps/--width/--height/--n/"
                    + "--batch-size/--clip-skip", () -> new StableDiffusion.Request(prompt, negativePrompt, guidance,
                    steps, width == null ? 0 : width, height == null ? 0 : height, count, seed, batchSize, bf16,
                    clipSkip));
            SamplerSpec spec = samplerSpec();
            StableDiffusion pipeline = sd;
            StableDiffusion.Init begin = init;
            TrainOptions.named("--width/--height/--latents/--init-image/--mask", () -> pipeline.imageSize(r, begin,
                    latentsStart));
            if (init != null) {
                TrainOptions.named("--strength", () -> Steps.startIndex(steps, begin.strength()));
            }
            String samplerName = spec == null ? sd.schedulerClass() : sampler + (karras ? "-karras" : "");
            long began = System.nanoTime();
            Tensor images;
            try (ProgressBar pb = Progress.bar("generate", count)) {
                StepListener bar = evaluations(pb, count);
                images = sd.generate(r, init, spec, latentsStart, bar);
            }
            double seconds = (System.nanoTime() - began) / 1e9;
            int w = (int) images.size(3);
            int h = (int) images.size(2);
            for (int i = 0; i < count; i++) {
                ImageGrid.writePng(ImageGrid.single(images.narrow(0, i, 1)), files.get(i),
                        text(i, samplerName, w, h, init));
            }
            stdout.printf(Locale.ROOT, "generated %d image%s of %dx%d with %s, %d steps, guidance %s in %.1f s%n",
                    count, count == 1 ? "" : "s", w, h, samplerName, steps, fmt(guidance), seconds);
            stdout.println(count == 1 ? "image: " + files.get(0)
                    : "images: " + files.get(0) + " ... " + files.get(count - 1));
        }
    }

    /** Moves {@code pb} on at every model evaluation of every batch of {@code count} images. */
    private StepListener evaluations(ProgressBar pb, int count) {
        long batches = (count + batchSize - 1) / batchSize;
        long[] done = {0};
        return (i, evaluations, xt, x0) -> {
            pb.maxHint(batches * evaluations);
            pb.stepTo(++done[0]);
        };
    }

    /** Images to draw: --n, or as many as --latents holds (with which --n must agree when given). */
    private int count(Tensor latentsStart) {
        int count = latentsStart == null ? n : (int) latentsStart.size(0);
        if (latentsStart != null && n != 1 && n != count) {
            throw new IllegalArgumentException("--n " + n + " disagrees with --latents " + latents + ", which holds "
                    + count);
        }
        return count;
    }

    private SamplerSpec samplerSpec() {
        DdpmSampler.Variance v = TrainOptions.named("--variance", () -> DdpmSampler.Variance.parse(variance));
        return sampler == null ? null : TrainOptions.named("--sampler", () -> new SamplerSpec(
                SamplerSpec.Kind.parse(sampler), steps, 0, TimestepSpacing.TRAILING, v, false, karras, 2.0, 0.0));
    }

    /** Class-to-image with a DiTPipeline folder. */
    private void runDit(PrintStream stdout) throws IOException {
        if (prompt != null || negativePrompt != null) {
            throw new IllegalArgumentException("--prompt: " + model + " is a DiT pipeline, which draws classes: give "
                    + "--class");
        }
        if (classes == null) {
            throw new IllegalArgumentException("--class is required for a DiT pipeline (" + model + ")");
        }
        if (start.image != null || start.mask != null || width != null || height != null || clipSkip != 0) {
            throw new IllegalArgumentException("--init-image, --mask, --width, --height and --clip-skip are for Stable "
                    + "Diffusion pipelines; a DiT pipeline draws at its own size");
        }
        try (PointerScope scope = new PointerScope()) {
            Tensor latentsStart = latents == null ? null : readLatents(latents);
            int count = count(latentsStart);
            List<Path> files = outputs(count);
            for (Path f : files) {
                OutputPaths.check(f, "--out", overwrite, model, latents);
            }
            DiTPipeline dit = DiTPipeline.load(model);
            if (scheduler != null) {
                JsonNode config = readScheduler(scheduler);
                DiTPipeline pipeline = dit;
                dit = TrainOptions.named("--scheduler " + scheduler, () -> pipeline.withScheduler(config));
            }
            DiTPipeline.Request r = TrainOptions.named("--class/--guidance/--steps/--n/--batch-size/--guided-channels",
                    () -> new DiTPipeline.Request(classes, guidance, steps, count, seed, batchSize, bf16,
                            guidedChannels));
            for (int c : classes) {
                if (c < 0 || c >= dit.classes()) {
                    throw new IllegalArgumentException("--class must be in [0, " + (dit.classes() - 1) + "] for "
                            + model + ", got " + c);
                }
            }
            SamplerSpec spec = samplerSpec();
            String samplerName = spec == null ? dit.schedulerClass() : sampler + (karras ? "-karras" : "");
            long began = System.nanoTime();
            Tensor images;
            try (ProgressBar pb = Progress.bar("generate", count)) {
                StepListener bar = evaluations(pb, count);
                DiTPipeline pipeline = dit;
                images = TrainOptions.named("--latents/--sampler/--variance", () -> pipeline.generate(r, spec,
                        latentsStart, bar));
            }
            double seconds = (System.nanoTime() - began) / 1e9;
            int w = (int) images.size(3);
            int h = (int) images.size(2);
            for (int i = 0; i < count; i++) {
                Map<String, String> t = new LinkedHashMap<>();
                t.put("class", Integer.toString(r.labels().size() == 1 ? r.labels().get(0) : r.labels().get(i)));
                t.put("seed", Long.toString(seed));
                t.put("index", Integer.toString(i));
                t.put("sampler", samplerName);
                t.put("steps", Integer.toString(steps));
                t.put("guidance_scale", fmt(guidance));
                if (guidedChannels > 0) {
                    t.put("guided_channels", Integer.toString(guidedChannels));
                }
                t.put("size", w + "x" + h);
                t.put("model", model.toAbsolutePath().normalize().getFileName().toString());
                t.put("Software", "diffusion4j");
                ImageGrid.writePng(ImageGrid.single(images.narrow(0, i, 1)), files.get(i), t);
            }
            stdout.printf(Locale.ROOT, "generated %d image%s of %dx%d with %s, %d steps, class %s, guidance %s in "
                    + "%.1f s%n", count, count == 1 ? "" : "s", w, h, samplerName, steps, classes.size() == 1
                    ? classes.get(0) : classes.toString(), fmt(guidance), seconds);
            stdout.println(count == 1 ? "image: " + files.get(0)
                    : "images: " + files.get(0) + " ... " + files.get(count - 1));
        }
    }

    /** The PNG text chunks: one per setting, and A1111's "parameters" line that other SD tools read. */
    private Map<String, String> text(int index, String samplerName, int w, int h, StableDiffusion.Init init) {
        Map<String, String> t = new LinkedHashMap<>();
        t.put("prompt", prompt);
        if (negativePrompt != null) {
            t.put("negative_prompt", negativePrompt);
        }
        t.put("seed", Long.toString(seed));
        t.put("index", Integer.toString(index));
        t.put("sampler", samplerName);
        t.put("steps", Integer.toString(steps));
        t.put("guidance_scale", fmt(guidance));
        t.put("size", w + "x" + h);
        t.put("model", model.toAbsolutePath().normalize().getFileName().toString());
        if (clipSkip > 0) {
            t.put("clip_skip", Integer.toString(clipSkip));
        }
        if (init != null) {
            t.put("init_image", start.image.getFileName().toString());
            t.put("strength", fmt(init.strength()));
            if (start.mask != null) {
                t.put("mask", start.mask.getFileName().toString());
            }
        }
        t.put("parameters", prompt + (negativePrompt != null ? "\nNegative prompt: " + negativePrompt : "")
                + "\nSteps: " + steps + ", Sampler: " + samplerName + ", CFG scale: " + fmt(guidance) + ", Seed: "
                + seed + ", Size: " + w + "x" + h + ", Model: " + t.get("model")
                + (init != null ? ", Denoising strength: " + fmt(init.strength()) : ""));
        t.put("Software", "diffusion4j");
        return t;
    }

    private List<Path> outputs(int count) {
        List<Path> files = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            files.add(count == 1 ? out : OutputPaths.withSuffix(out, ".png", "-" + i + ".png"));
        }
        return files;
    }

    private static String fmt(double v) {
        return v == Math.rint(v) && Math.abs(v) < 1e15 ? Long.toString((long) v) : Double.toString(v);
    }

    /** One float tensor [n, C, h, w] from a safetensors file, as float32. */
    private static Tensor readLatents(Path file) throws IOException {
        if (!file.getFileName().toString().endsWith(".safetensors")) {
            throw new IllegalArgumentException("--latents " + file + ": expected a .safetensors file holding one "
                    + "tensor [n, 4, h, w]");
        }
        Map<String, Tensor> all = Safetensors.read(file).tensors();
        if (all.size() != 1) {
            throw new IllegalArgumentException("--latents " + file + ": expected exactly one tensor, found "
                    + all.size() + " " + all.keySet());
        }
        Tensor t = all.values().iterator().next();
        if (!t.is_floating_point() || t.dim() != 4) {
            throw new IllegalArgumentException("--latents " + file + ": expected a float tensor [n, 4, h, w], got "
                    + t.scalar_type() + " of rank " + t.dim());
        }
        return t.to(torch.ScalarType.Float);
    }

    private static JsonNode readScheduler(Path path) throws IOException {
        Path file = Files.isDirectory(path) ? path.resolve("scheduler_config.json") : path;
        JsonNode json = Json.readFile(file);
        if (!json.isObject() || !json.has("_class_name")) {
            throw new IllegalArgumentException("--scheduler " + file + ": a diffusers scheduler config names its "
                    + "class in _class_name");
        }
        return json;
    }
}
