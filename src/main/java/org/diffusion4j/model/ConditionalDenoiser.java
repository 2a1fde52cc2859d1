package org.diffusion4j.model;

import org.bytedeco.pytorch.Tensor;
import org.diffusion4j.schedule.NoiseLevel;
import org.diffusion4j.tensor.DeviceSpec;

/** A denoiser that can be told the class of each row (for class-conditional models and guidance). */
@FunctionalInterface
public interface ConditionalDenoiser {
    /**
     * @param x      x_t, [B, ...]
     * @param level  the noise level of every row
     * @param labels int64 [B] class labels (a model's "no class" label for the unconditional prediction)
     * @return x0 and eps predictions, each shaped like x
     */
    Prediction predict(Tensor x, NoiseLevel level, Tensor labels);

    /** Where {@link #predict} expects x and the labels. */
    default DeviceSpec device() {
        return DeviceSpec.CPU;
    }
}
