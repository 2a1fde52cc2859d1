package org.diffusion4j.pipeline;

import org.diffusion4j.data.DataSource;
import org.diffusion4j.data.ToyDataset;

/** Resolves the dataset id recorded in configs and checkpoints. */
public final class Datasets {
    private Datasets() {}

    /** The data source for {@code id}, e.g. "swiss-roll". */
    public static DataSource resolve(String id) {
        return ToyDataset.parse(id);
    }
}
