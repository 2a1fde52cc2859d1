package org.diffusion4j.pipeline;

import java.io.IOException;
import java.nio.file.Path;
import org.diffusion4j.data.DataSource;
import org.diffusion4j.data.DatasetFetcher;
import org.diffusion4j.data.LabeledImages;
import org.diffusion4j.data.Mnist;
import org.diffusion4j.data.ToyDataset;

/** Resolves the dataset id recorded in configs and checkpoints: a toy set, or mnist / fashion-mnist. */
public final class Datasets {
    private Datasets() {}

    /** True for the generated 2-D sets. */
    public static boolean isToy(String id) {
        try {
            ToyDataset.parse(id);
            return true;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    /** The shape of one sample of {@code id}, without loading it. */
    public static long[] sampleShape(String id) {
        if (isToy(id)) {
            return ToyDataset.parse(id).sampleShape();
        }
        Mnist.parse(id);
        return new long[] {1, 28, 28};
    }

    /** Checks that {@code id} names a known dataset. */
    public static void check(String id) {
        if (!isToy(id)) {
            try {
                Mnist.parse(id);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("unknown dataset '" + id + "'; expected one of swiss-roll, two-moons, "
                        + "8gaussians, checkerboard, mnist, fashion-mnist");
            }
        }
    }

    /**
     * The training source for {@code id}.
     *
     * @param dataDir where image datasets are (null: the shared folder, then the cache)
     * @param seed    the run's seed (image epochs are shuffled from it)
     */
    public static DataSource resolve(String id, Path dataDir, long seed) throws IOException {
        if (isToy(id)) {
            return ToyDataset.parse(id);
        }
        return images(id, dataDir, true).source(seed, false);
    }

    /** An image dataset's split. */
    public static LabeledImages images(String id, Path dataDir, boolean train) throws IOException {
        Mnist m = Mnist.parse(id);
        return m.load(DatasetFetcher.locate(m, dataDir), train);
    }
}
