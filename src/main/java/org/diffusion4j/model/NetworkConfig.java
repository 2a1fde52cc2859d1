package org.diffusion4j.model;

import org.diffusion4j.tensor.Rng;

/** A network's config record: knows its type name (recorded in checkpoints) and builds the network. */
public interface NetworkConfig {
    /** The type recorded in checkpoints, e.g. "mlp" or "unet". */
    String modelType();

    /** The shape of one sample this network takes, without the batch dimension. */
    long[] sampleShape();

    /** Number of class embeddings (classes + 1 for classifier-free guidance's "no class"), or null. */
    Integer numClassEmbeds();

    /** The parameters {@link #build} creates, by name and shape, computed without allocating them. */
    ParameterShapes parameterShapes();

    /**
     * A lower bound of the activation bytes one sample holds at once in a forward pass (float32): the feature maps
     * any implementation must keep live together at the widest point. Used to refuse batches that cannot fit.
     */
    long activationBytesPerSample();

    /** A network initialised from {@code rng}. */
    Network build(Rng rng);
}
