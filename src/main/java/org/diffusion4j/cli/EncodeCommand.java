package org.diffusion4j.cli;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ProgressBar;
import org.diffusion4j.checkpoint.Checkpoint;
import org.diffusion4j.data.LabeledImages;
import org.diffusion4j.run.AutoencoderRun;
import org.diffusion4j.run.Datasets;
import org.diffusion4j.run.Latents;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "encode", mixinStandardHelpOptions = true,
        description = "Encode an image dataset with a trained autoencoder into a latents file (posterior mean and std "
                + "per image, labels, and the scale factor 1/std) for 'train --data latents:FILE'.")
final class EncodeCommand implements Callable<Integer>, Main.MemoryBound {
    @Override
    public String toNeedLess() {
        return "lower --batch-size";
    }

    @Option(names = "--autoencoder", required = true, description = "The autoencoder checkpoint (.safetensors).")
    Path autoencoder;

    @Option(names = "--data", description = "The images (default: the autoencoder's training data).")
    String data;

    @Option(names = "--data-dir", description = "Folder with the dataset's IDX files.")
    Path dataDir;

    @Option(names = "--split", defaultValue = "train", description = "train or test (default: ${DEFAULT-VALUE}).")
    String split;

    @Option(names = "--limit", description = "Encode only the first N images (default: all).")
    Integer limit;

    @Option(names = "--batch-size", defaultValue = "256", description = "Images per pass (default: ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(names = "--out", required = true, description = "The latents file (.safetensors).")
    Path out;

    @Option(names = "--overwrite", description = "Replace an existing latents file.")
    boolean overwrite;

    @Override
    public Integer call() throws Exception {
        Checkpoint.requireSafetensorsName(out);
        if (limit != null && limit < 1) {
            throw new IllegalArgumentException("--limit must be >= 1, got " + limit);
        }
        if (batchSize < 1) {
            throw new IllegalArgumentException("--batch-size must be >= 1, got " + batchSize);
        }
        boolean train = TrainOptions.named("--split", () -> switch (split) {
            case "train" -> true;
            case "test" -> false;
            default -> throw new IllegalArgumentException("expected train or test, got '" + split + "'");
        });
        OutputPaths.check(out, "--out", overwrite, autoencoder, Checkpoint.sidecarOf(autoencoder));
        AutoencoderRun.Loaded ae = AutoencoderRun.load(autoencoder);
        String id = data != null ? data : ae.data();
        TrainOptions.named("--data", () -> {
            Datasets.check(id);
            return id;
        });
        LabeledImages images = Datasets.images(id, dataDir, train);
        int n = limit == null ? images.count() : Math.min(limit, images.count());
        long start = System.nanoTime();
        Latents.Info info;
        try (ProgressBar pb = Progress.bar("encode", n)) {
            info = Latents.encode(ae.model(), autoencoder, ae.sha256(), images, n, batchSize, out, pb::stepTo);
        }
        System.out.printf(Locale.ROOT, "encoded %d images of %s in %.1f s: latents %s, scale factor %.5f%s%n",
                info.count(), images.id(), (System.nanoTime() - start) / 1e9, Arrays.toString(info.shape()),
                info.scaleFactor(), info.numClasses() > 0 ? ", " + info.numClasses() + " classes" : "");
        System.out.println("latents: " + out + " (train on them with --data latents:" + out + ")");
        return 0;
    }
}
