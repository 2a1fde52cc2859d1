package org.diffusion4j.model;

import org.diffusion4j.tensor.Rng;

/** A network's config record: knows its type name (recorded in checkpoints) and builds the network. */
public interface NetworkConfig {
    /** The type recorded in checkpoints, e.g. "mlp" or "unet". */
    String modelType();

    /** The shape of one sample this network takes, without the batch dimension. */
    long[] sampleShape();

    /** A network initialised from {@code rng}. */
    Network build(Rng rng);
}
