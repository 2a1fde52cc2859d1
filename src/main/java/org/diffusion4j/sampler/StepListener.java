package org.diffusion4j.sampler;

import org.bytedeco.pytorch.Tensor;

/**
 * Sees every model evaluation of a sampler (once per step for one-evaluation samplers; Heun and PNDM evaluate more
 * often). The tensors are only valid during the call: copy what you keep.
 */
@FunctionalInterface
public interface StepListener {
    /** Ignores every step. */
    StepListener NONE = (i, n, xt, x0) -> { };

    /**
     * @param index        evaluation index, 0-based
     * @param count        number of evaluations
     * @param xt           the sample the model was evaluated at
     * @param predictedX0  the clean estimate the sampler uses from this evaluation (after any clipping)
     */
    void onStep(int index, int count, Tensor xt, Tensor predictedX0);
}
