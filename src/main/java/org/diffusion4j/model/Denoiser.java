package org.diffusion4j.model;

import org.bytedeco.pytorch.Tensor;
import org.diffusion4j.schedule.NoiseLevel;
import org.diffusion4j.tensor.DeviceSpec;

/**
 * What samplers call: given a noisy batch and its (shared) noise level, predict x0 and eps.
 * Implementations hide the network and its parameterisation, so samplers never branch on prediction type.
 */
@FunctionalInterface
public interface Denoiser {
    /**
     * @param x     x_t, shape [B, ...]
     * @param level the noise level of every row of x
     * @return x0 and eps predictions, each shaped like x
     */
    Prediction predict(Tensor x, NoiseLevel level);

    /** Where {@link #predict} expects x: samplers start from noise drawn there. */
    default DeviceSpec device() {
        return DeviceSpec.CPU;
    }
}
