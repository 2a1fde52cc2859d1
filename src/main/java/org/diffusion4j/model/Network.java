package org.diffusion4j.model;

import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Tensor;

/** A trainable network conditioned on a time value: the raw function a {@link Parameterization} interprets. */
public interface Network {
    /**
     * @param x data [B, ...]
     * @param t float32 timesteps [B]
     * @return the raw output, shaped like x
     */
    Tensor forward(Tensor x, Tensor t);

    /** The libtorch module holding the parameters. */
    Module module();
}
