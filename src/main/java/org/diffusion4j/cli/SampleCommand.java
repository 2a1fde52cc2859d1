package org.diffusion4j.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "sample", mixinStandardHelpOptions = true,
        description = "Sample a checkpoint, report sliced-Wasserstein and MMD against fresh data, and plot.")
final class SampleCommand implements Callable<Integer> {
    @Option(names = "--checkpoint", required = true, description = "The .safetensors checkpoint.")
    Path checkpoint;

    @Mixin
    SamplerOptions sampler;

    @Option(names = "--n", defaultValue = "2000", description = "Number of samples (default: ${DEFAULT-VALUE}).")
    int n;

    @Option(names = "--seed", defaultValue = "0",
            description = "Sample i depends only on (seed, i) (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--batch-size", defaultValue = "2000", description = "Samples per forward pass (default: ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(names = "--no-ema", description = "Use the raw weights instead of their EMA.")
    boolean noEma;

    @Option(names = "--out", required = true, description = "Scatter plot PNG (data vs samples).")
    Path out;

    @Option(names = "--csv", description = "Also write the samples as CSV.")
    Path csv;

    @Option(names = "--overwrite", description = "Replace existing outputs.")
    boolean overwrite;

    @Override
    public Integer call() throws Exception {
        Runs.sample(checkpoint, sampler.toSpec(), n, seed, batchSize, !noEma, out, csv, overwrite, System.out);
        return 0;
    }
}
