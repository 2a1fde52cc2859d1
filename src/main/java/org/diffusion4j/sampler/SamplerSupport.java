package org.diffusion4j.sampler;

import java.util.List;
import org.bytedeco.pytorch.ScalarOptional;
import org.bytedeco.pytorch.Tensor;
import org.diffusion4j.tensor.Shapes;
import org.diffusion4j.tensor.Tensors;

/** The argument checks and small tensor helpers every sampler loop shares. */
final class SamplerSupport {
    private SamplerSupport() {}

    /** x_T must be a batch [B, ...] and there must be at least one step. */
    static void checkInputs(Tensor xT, List<Step> steps) {
        Shapes.requireRankAtLeast(xT, "x_T", 2);
        if (steps.isEmpty()) {
            throw new IllegalArgumentException("steps must not be empty");
        }
    }

    /** x clamped to [-range, range] (diffusers' clip_sample). */
    static Tensor clamp(Tensor x, double range) {
        return x.clamp(new ScalarOptional(Tensors.scalar(-range)), new ScalarOptional(Tensors.scalar(range)));
    }
}
