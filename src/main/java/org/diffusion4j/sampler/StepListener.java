package org.diffusion4j.sampler;

import org.bytedeco.pytorch.Tensor;

/** Sees every sampler step. The tensors are only valid during the call: copy what you keep. */
@FunctionalInterface
public interface StepListener {
    /** Ignores every step. */
    StepListener NONE = (i, n, xt, x0) -> { };

    /**
     * @param index        step index, 0-based
     * @param count        number of steps
     * @param xt           the sample entering this step
     * @param predictedX0  the denoiser's clean estimate at this step (after any clipping)
     */
    void onStep(int index, int count, Tensor xt, Tensor predictedX0);
}
