package org.diffusion4j.cli;

import java.io.IOException;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ProgressBar;
import org.diffusion4j.data.DatasetFetcher;
import org.diffusion4j.data.Mnist;
import org.diffusion4j.distributed.DataParallel;
import org.diffusion4j.model.Parameterization;
import org.diffusion4j.model.unet.UNetConfig;
import org.diffusion4j.run.RunSpec;
import org.diffusion4j.run.TrainingRun;
import org.diffusion4j.sampler.DdpmSampler;
import org.diffusion4j.sampling.SamplerSpec;
import org.diffusion4j.schedule.DiffusionProcess;
import org.diffusion4j.schedule.NoiseSchedule;
import org.diffusion4j.schedule.ScheduleConfig;
import org.diffusion4j.schedule.TimestepSpacing;
import org.diffusion4j.tensor.Autocast;
import org.diffusion4j.tensor.DeviceSpec;
import org.diffusion4j.train.TrainConfig;
import org.diffusion4j.train.Trainer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code quickstart mnist|fashion-mnist}: fetch the dataset if missing, train a CPU-sized U-Net for a bounded time,
 * write a grid of samples.
 */
@Command(name = "quickstart", mixinStandardHelpOptions = true,
        description = "Fetch MNIST or Fashion-MNIST if needed, train a small U-Net for a bounded time, and write a grid "
                + "of samples (digits.png or clothes.png).")
final class QuickstartCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "DATASET", description = "mnist or fashion-mnist")
    String dataset;

    @Option(names = "--minutes", defaultValue = "25",
            description = "Training time budget; on 2 cores, 30 min is about 15000 fp32 steps (default: "
                    + "${DEFAULT-VALUE}).")
    double minutes;

    @Option(names = "--max-steps", defaultValue = "100000", description = "Stop earlier at this step (default: ${DEFAULT-VALUE}).")
    long maxSteps;

    @Option(names = "--data-dir", description = "Folder with the IDX files (default: $DIFFUSION4J_DATA/NAME or "
            + "-Ddiffusion4j.data, then the cache; fetched if missing).")
    Path dataDir;

    @Option(names = "--out-dir", description = "Where to write; default runs/quickstart-<timestamp>.")
    Path outDir;

    @picocli.CommandLine.Mixin
    DeviceOptions device;

    @Option(names = "--seed", defaultValue = "0", description = "Run seed (default: ${DEFAULT-VALUE}).")
    long seed;

    /** Training precision of the forward pass; weights and optimizer state are float32 either way. */
    enum Precision { AUTO, FP32, BF16 }

    @Option(names = "--precision", defaultValue = "auto", converter = PrecisionConverter.class,
            description = "auto, fp32 or bf16 (autocast) for the forward pass. auto times a few steps of each on "
                    + "this machine and trains in the faster one; on CPUs without bf16 units it is fp32 "
                    + "(default: ${DEFAULT-VALUE}).")
    Precision precision;

    static final class PrecisionConverter implements picocli.CommandLine.ITypeConverter<Precision> {
        @Override
        public Precision convert(String value) {
            for (Precision p : Precision.values()) {
                if (p.name().equalsIgnoreCase(value)) {
                    return p;
                }
            }
            throw new picocli.CommandLine.TypeConversionException("expected auto, fp32 or bf16, got '" + value + "'");
        }
    }

    /**
     * Times {@link #PROBE_STEPS} training steps of the recipe in each precision (after one warm-up step) and says
     * whether bf16 was faster. Which one wins depends on the CPU and the model size, not just on bf16 units: without
     * them bf16 is emulated and slower.
     */
    private boolean bf16IsFaster(Mnist m, Path data, DeviceSpec where)
            throws IOException {
        double[] ms = new double[2];
        for (int i = 0; i < 2; i++) {
            Trainer probe = TrainingRun.trainer(recipe(m, 1 + PROBE_STEPS, seed, i == 1), data,
                    Trainer.DEFAULT_MAX_SKIPPED, DataParallel.single(), where);
            probe.trainUntil(1, s -> { });
            long t0 = System.nanoTime();
            probe.trainUntil(1 + PROBE_STEPS, s -> { });
            ms[i] = (System.nanoTime() - t0) / 1e6 / PROBE_STEPS;
        }
        System.err.printf(Locale.ROOT, "precision auto: %.0f ms per fp32 step, %.0f ms per bf16 step; training in "
                + "%s%n", ms[0], ms[1], ms[1] < ms[0] ? "bf16" : "fp32");
        return ms[1] < ms[0];
    }

    /** Steps timed per precision by {@code --precision auto}. */
    static final int PROBE_STEPS = 5;

    /**
     * A 0.3 M-parameter U-Net, batch 32, lr 1e-3 (the shipped checkpoint's recipe), plus min-SNR-5 loss weighting,
     * which reached a lower FID in the same 30 minutes (see README, Benchmarks).
     */
    static RunSpec recipe(Mnist dataset, long steps, long seed, boolean bf16) {
        UNetConfig unet = UNetConfig.attentionBelowTop(28, 1, List.of(16, 32, 32), null);
        TrainConfig train = new TrainConfig(steps, 32, 1e-3, 0, 0.9, 0.999, 1e-8, 200, 1.0, 0.999, 5,
                Parameterization.EPS, seed, bf16);
        return new RunSpec(unet, ScheduleConfig.ddpmDefault(), train, dataset.id());
    }

    @Override
    public Integer call() throws Exception {
        Mnist m = TrainOptions.named("DATASET", () -> Mnist.parse(dataset));
        DeviceSpec where = device.toDevice();
        if (!(minutes > 0) || maxSteps < 1) {
            throw new IllegalArgumentException("--minutes must be > 0 and --max-steps >= 1");
        }
        Path data = DatasetFetcher.locateOrFetch(m, dataDir, System.err);
        Path dir = outDir != null ? outDir : Path.of("runs", "quickstart-"
                + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
        Path ckpt = dir.resolve(m.id() + ".safetensors");
        Path grid = dir.resolve(m == Mnist.MNIST ? "digits.png" : "clothes.png");
        OutputPaths.check(grid, "--out-dir", false);
        OutputPaths.check(ckpt, "--out-dir", false);
        boolean bf16 = precision == Precision.BF16
                || (precision == Precision.AUTO && Autocast.nativeBf16() && bf16IsFaster(m, data, where));
        RunSpec spec = recipe(m, maxSteps, seed, bf16);
        Trainer trainer = TrainingRun.trainer(spec, data, Trainer.DEFAULT_MAX_SKIPPED,
                DataParallel.single(), where);
        long deadline = System.nanoTime() + (long) (minutes * 60e9);
        long start = System.nanoTime();
        double[] last = {Double.NaN};
        try (ProgressBar pb = Progress.bar("train", maxSteps)) {
            while (trainer.step() < maxSteps && System.nanoTime() < deadline) {
                trainer.trainUntil(Math.min(maxSteps, trainer.step() + 10), s -> {
                    pb.stepTo(s.step() + 1);
                    last[0] = s.loss();
                });
                pb.setExtraMessage(String.format(Locale.ROOT, "loss %.4f", last[0]));
            }
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        TrainingRun.save(trainer, spec, ckpt);
        System.out.printf(Locale.ROOT, "trained the quickstart U-Net (%d parameters) for %d steps in %.1f min; "
                + "%s; checkpoint %s%n", org.diffusion4j.model.Parameters.count(trainer.network().module()),
                trainer.step(), seconds / 60, bf16 ? "bf16 autocast" : "fp32", ckpt);
        DiffusionProcess process = spec.train().process(NoiseSchedule.of(spec.schedule()));
        SamplerSpec sampler = new SamplerSpec(SamplerSpec.defaultKind(true, process),
                SamplerSpec.defaultSteps(true, process), 0, TimestepSpacing.TRAILING, DdpmSampler.Variance.FIXED_SMALL,
                true);
        Runs.sample(ckpt, sampler, 64, seed, SampleOutput.grid(grid), System.out, where);
        return 0;
    }
}
