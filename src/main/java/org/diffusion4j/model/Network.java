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

    /**
     * The class-conditional forward pass.
     *
     * @param labels int64 class labels [B], or null for an unconditional pass
     * @throws IllegalArgumentException if labels are given to a network without a class embedding
     */
    default Tensor forward(Tensor x, Tensor t, Tensor labels) {
        if (labels != null) {
            throw new IllegalArgumentException("this network has no class embedding; it cannot take class labels");
        }
        return forward(x, t);
    }

    /** The libtorch module holding the parameters. */
    Module module();
}
