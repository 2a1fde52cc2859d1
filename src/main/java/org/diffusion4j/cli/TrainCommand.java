package org.diffusion4j.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "train", mixinStandardHelpOptions = true,
        description = "Train a denoiser and write a checkpoint (NAME.safetensors + NAME.json + NAME.loss.csv).")
final class TrainCommand implements Callable<Integer> {
    @Mixin
    TrainOptions options;

    @Option(names = "--out", required = true, description = "Checkpoint path, ending in .safetensors.")
    Path out;

    @Option(names = "--overwrite", description = "Replace an existing checkpoint.")
    boolean overwrite;

    @Override
    public Integer call() throws Exception {
        Runs.train(options.toSpec(), out, overwrite, System.out);
        return 0;
    }
}
