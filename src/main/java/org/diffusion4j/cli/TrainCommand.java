package org.diffusion4j.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.diffusion4j.run.TrainingRun;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "train", mixinStandardHelpOptions = true,
        description = "Train a denoiser and write a checkpoint (NAME.safetensors + NAME.json + NAME.loss.csv).")
final class TrainCommand implements Callable<Integer>, Main.MemoryBound {
    @Override
    public String toNeedLess() {
        return "lower --batch-size, or the model's size (--channels, --hidden, --depth)";
    }

    @Mixin
    TrainOptions options;

    @Mixin
    DistOptions dist;

    @Mixin
    DeviceOptions device;

    @Option(names = "--out", required = true, description = "Checkpoint path, ending in .safetensors.")
    Path out;

    @Option(names = "--overwrite", description = "Replace an existing checkpoint.")
    boolean overwrite;

    @Option(names = "--checkpoint-every", defaultValue = "0",
            description = "Also save NAME-stepNNNNNNNNN.safetensors every N steps; 0 = only at the end (default: ${DEFAULT-VALUE}).")
    long every;

    @Option(names = "--keep-last", defaultValue = "3",
            description = "Intermediate checkpoints to keep (default: ${DEFAULT-VALUE}).")
    int keepLast;

    @Option(names = "--max-skipped-steps", defaultValue = "5", description = "A step whose loss or gradient is NaN or "
            + "infinite is skipped (nothing is updated); this many in a row stop the run, keeping the last good "
            + "checkpoint (default: ${DEFAULT-VALUE}).")
    int maxSkipped;

    @Option(names = "--resume", description = "Continue exactly from this checkpoint (same configs; --steps may grow).")
    Path resume;

    @Option(names = "--init", description = "Start from this checkpoint's weights and EMA (same architecture) with this "
            + "run's data, schedule and training options, optimizer and step count afresh: fine-tuning.")
    Path init;

    @Override
    public Integer call() throws Exception {
        TrainingRun.CheckpointPolicy policy = TrainOptions.named("--checkpoint-every/--keep-last/--max-skipped-steps",
                () -> new TrainingRun.CheckpointPolicy(every, keepLast, maxSkipped));
        TrainingRun.Start start = TrainOptions.named("--resume/--init", () -> new TrainingRun.Start(resume, init));
        Runs.train(options.toSpec(), options.images.dataDir, out, policy, start, overwrite, System.out,
                dist.toConfig(), device.toDevice());
        return 0;
    }
}
