package org.diffusion4j.model;

import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Tensor;
import org.diffusion4j.tensor.DeviceSpec;

/** A trainable network conditioned on a time value: the raw function a {@link Parameterization} interprets. */
public interface Network {
    /**
     * @param x      data [B, ...]
     * @param t      float32 timesteps [B]
     * @param labels int64 class labels [B], or int64 caption token ids [B, L] for a text-conditioned network, or
     *               null for an unconditional pass
     * @return the raw output, shaped like x, or with twice its channels when the network also predicts a variance
     *         (DiT's learned sigma: {@link NetworkDenoiser} reads the second half)
     * @throws IllegalArgumentException if labels are given to a network without a class embedding
     */
    Tensor forward(Tensor x, Tensor t, Tensor labels);

    /** The unconditional forward pass. */
    default Tensor forward(Tensor x, Tensor t) {
        return forward(x, t, null);
    }

    /** The libtorch module holding the parameters. */
    Module module();

    /**
     * Moves the parameters to {@code device} in place (as {@code model.to(device)}): handles to them stay valid. A
     * no-op on the CPU.
     *
     * @return this network
     */
    default Network moveTo(DeviceSpec device) {
        if (!device.isCpu()) {
            module().to(device.torch(), false);
        }
        return this;
    }
}
