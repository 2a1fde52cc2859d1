package org.diffusion4j.cli;

import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.concurrent.Callable;
import org.diffusion4j.guidance.Guidance;
import org.diffusion4j.sampling.SampleJob;
import org.diffusion4j.run.Datasets;
import org.diffusion4j.run.TrainingRun;
import org.diffusion4j.tensor.DeviceSpec;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** What {@code ./diffusion4j} does with no arguments: train on a toy set, sample it, plot data vs samples. */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "Train the toy MLP (default: swiss roll), sample it and write a data-vs-samples plot.")
final class DemoCommand implements Callable<Integer> {
    @Mixin
    TrainOptions train = new TrainOptions();

    @Mixin
    SamplerOptions sampler = new SamplerOptions();

    @Option(names = "--n", defaultValue = "2000", description = "Samples to draw (default: ${DEFAULT-VALUE}).")
    int n = 2000;

    @Option(names = "--out-dir", description = "Where to write; default runs/demo-<timestamp>, never overwritten.")
    Path outDir;

    @Override
    public Integer call() throws Exception {
        Path dir = outDir != null ? outDir
                : Path.of("runs", "demo-" + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
        Path ckpt = dir.resolve("model.safetensors");
        Runs.train(train.toSpec(), train.images.dataDir, ckpt, TrainingRun.CheckpointPolicy.atEnd(), null, false, System.out);
        Runs.sample(ModelSource.checkpoint(ckpt, DeviceSpec.CPU), sampler::toSpec, SampleJob.Conditioning.NONE,
                Guidance.of(1), n, train.seed, n, new SampleOutput(dir.resolve("samples.png"), SampleOutput.Format.GRID,
                        Datasets.isToy(train.data) ? dir.resolve("samples.csv") : null, null, false), System.out);
        return 0;
    }
}
