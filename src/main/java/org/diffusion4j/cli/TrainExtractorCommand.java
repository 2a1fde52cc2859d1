package org.diffusion4j.cli;

import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.diffusion4j.checkpoint.Checkpoint;
import org.diffusion4j.data.LabeledImages;
import org.diffusion4j.eval.FeatureExtractor;
import org.diffusion4j.run.Datasets;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "train-extractor", mixinStandardHelpOptions = true,
        description = "Train the feature network that eval's FID, KID and precision/recall use (a small CNN "
                + "classifier) on a labelled image set, and write it as one safetensors file with its provenance.")
final class TrainExtractorCommand implements Callable<Integer>, Main.MemoryBound {
    @Override
    public String toNeedLess() {
        return "use a smaller dataset or model: it trains on a fixed batch size";
    }

    @Option(names = "--data", defaultValue = "mnist",
            description = "mnist, fashion-mnist or cifar10: a labelled set with train and test splits (default: "
                    + "${DEFAULT-VALUE}).")
    String data;

    @Option(names = "--data-dir", description = "Folder with the dataset's IDX files.")
    Path dataDir;

    @Option(names = "--steps", defaultValue = "3000", description = "Optimiser steps of batch 128 (default: "
            + "${DEFAULT-VALUE}).")
    int steps;

    @Option(names = "--seed", defaultValue = "0", description = "Seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--out", required = true, description = "Output path, ending in .safetensors.")
    Path out;

    @Option(names = "--overwrite", description = "Replace an existing output.")
    boolean overwrite;

    @Override
    public Integer call() throws Exception {
        Checkpoint.requireSafetensorsName(out);
        // Folders are refused before canonicalising: they carry no labels, and canonical() would want their size.
        String dataId = data.startsWith(Datasets.FOLDER) ? data : new ImageDataOptions().canonical(data);
        if (dataId.startsWith(Datasets.FOLDER) || Datasets.sampleShape(dataId).length != 3) {
            throw new IllegalArgumentException("--data " + data + ": the feature extractor needs labelled images with "
                    + "train and test splits (mnist, fashion-mnist, cifar10)");
        }
        OutputPaths.check(out, "--out", overwrite);
        LabeledImages train = Datasets.images(dataId, dataDir, true);
        LabeledImages test = Datasets.images(dataId, dataDir, false);
        long start = System.nanoTime();
        FeatureExtractor f = TrainOptions.named("--steps", () -> FeatureExtractor.train(train, test, steps, seed,
                Map.of("command", "train-extractor --data " + dataId + " --steps " + steps + " --seed " + seed)));
        f.save(out);
        System.out.printf(Locale.ROOT, "trained on %s in %.0f s: test accuracy %.2f%% (%s, %d images)%n", train.id(),
                (System.nanoTime() - start) / 1e9, 100 * Double.parseDouble(f.metadata().get("test_accuracy")),
                test.id(), test.count());
        System.out.println("wrote " + out + " (sha256 " + Checkpoint.sha256(out) + ")");
        return 0;
    }
}
