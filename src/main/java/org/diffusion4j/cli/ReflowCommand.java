package org.diffusion4j.cli;

import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ProgressBar;
import org.diffusion4j.checkpoint.Checkpoint;
import org.diffusion4j.data.PairedData;
import org.diffusion4j.run.Datasets;
import org.diffusion4j.run.LoadedModel;
import org.diffusion4j.run.Reflow;
import org.diffusion4j.sampling.SamplerSpec;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "reflow", mixinStandardHelpOptions = true,
        description = "Rectified flow: make (noise, sample) pairs with a flow-matching model's ODE and train on them, "
                + "so few-step sampling follows straighter paths.")
final class ReflowCommand implements Callable<Integer>, Main.MemoryBound {
    @Override
    public String toNeedLess() {
        return "lower --batch-size or --pairs";
    }

    @Option(names = "--checkpoint", required = true, description = "A model trained with --prediction flow.")
    Path checkpoint;

    @Option(names = "--pairs", defaultValue = "20000", description = "Number of pairs (default: ${DEFAULT-VALUE}).")
    int pairs;

    @Option(names = "--steps", defaultValue = "2000", description = "Training steps on the pairs (default: ${DEFAULT-VALUE}).")
    long steps;

    @Option(names = "--seed", defaultValue = "0", description = "Seed of the pairs' noise (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--batch-size", defaultValue = "500", description = "Pairs per forward pass (default: ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(names = "--out", required = true, description = "The new checkpoint (.safetensors).")
    Path out;

    @Option(names = "--overwrite", description = "Replace an existing output.")
    boolean overwrite;

    @Mixin
    DeviceOptions device;

    @Mixin
    SamplerOptions sampler;

    @Override
    public Integer call() throws Exception {
        Checkpoint.requireSafetensorsName(out);
        OutputPaths.check(out, "--out", overwrite, checkpoint, Checkpoint.sidecarOf(checkpoint));
        LoadedModel model = LoadedModel.load(checkpoint, true, device.toDevice());
        if (sampler.steps == null) {
            sampler.steps = 100;
        }
        if (sampler.sampler == null) {
            // Reflow integrates the ODE; the image default (an SDE solver) would not pair noise with its sample.
            sampler.sampler = "euler";
        }
        SamplerSpec spec = sampler.toSpec(!Datasets.isToy(model.data()) && !Datasets.isSignal(model.data()),
                model.process(), model.latent() != null);
        long start = System.nanoTime();
        PairedData data;
        try (ProgressBar pb = Progress.bar("pairs", (long) spec.evaluations(model.schedule())
                * ((pairs + batchSize - 1) / batchSize))) {
            data = TrainOptions.named("--pairs/--sampler", () -> Reflow.pairs(model, spec, pairs, seed, batchSize,
                    pb::step));
        }
        double pairSeconds = (System.nanoTime() - start) / 1e9;
        start = System.nanoTime();
        try (ProgressBar pb = Progress.bar("reflow", steps)) {
            Reflow.train(model, data, steps, out, s -> pb.stepTo(s.step() + 1));
        }
        System.out.printf(Locale.ROOT, "made %d pairs with %s in %.1f s, trained %d steps on them in %.1f s; "
                + "checkpoint %s%n", pairs, spec.label(model.schedule()), pairSeconds, steps,
                (System.nanoTime() - start) / 1e9, out);
        return 0;
    }
}
