package org.diffusion4j.sampler;

import java.util.Arrays;
import java.util.List;
import org.bytedeco.pytorch.ScalarOptional;
import org.bytedeco.pytorch.Tensor;
import org.diffusion4j.schedule.NoiseLevel;
import org.diffusion4j.tensor.Shapes;
import org.diffusion4j.tensor.Tensors;

/** The argument checks and small tensor helpers every sampler loop shares. */
final class SamplerSupport {
    private SamplerSupport() {}

    /** A per-sample noise source of {@code rows} streams can only fill draws of exactly that many rows. */
    static void requireRows(long[] shape, int rows) {
        if (shape.length < 1 || shape[0] != rows) {
            throw new IllegalArgumentException("per-sample noise source has " + rows + " rows, asked for shape "
                    + Arrays.toString(shape));
        }
    }

    static void checkInputs(Tensor xT, List<Step> steps) {
        Shapes.requireRankAtLeast(xT, "x_T", 2);
        if (steps.isEmpty()) {
            throw new IllegalArgumentException("steps must not be empty");
        }
    }

    /**
     * x_T must be a batch and {@code levels} (N+1 of them, the last being where sampling ends) must get less noisy
     * in signal-to-noise ratio at every step.
     */
    static void checkLevels(Tensor xT, List<NoiseLevel> levels) {
        Shapes.requireRankAtLeast(xT, "x_T", 2);
        if (levels.size() < 2) {
            throw new IllegalArgumentException("need at least 2 noise levels (start and end), got " + levels.size());
        }
        for (int i = 0; i + 1 < levels.size(); i++) {
            if (ve(levels.get(i + 1)) > ve(levels.get(i))) {
                throw new IllegalArgumentException("noise level " + (i + 1) + " " + levels.get(i + 1)
                        + " is noisier than level " + i + " " + levels.get(i));
            }
        }
    }

    /** Samplers that work in the variance-exploding view need alpha > 0 at every level they start a step from. */
    static void requireFiniteVe(List<NoiseLevel> levels, String sampler) {
        for (int i = 0; i + 1 < levels.size(); i++) {
            if (!(levels.get(i).alpha() > 0)) {
                throw new IllegalArgumentException(sampler + " needs alpha > 0 at every level it steps from, level "
                        + i + " is " + levels.get(i) + " (zero SNR); use ddim, euler or dpm++ there");
            }
        }
    }

    /** The variance-exploding sigma = sigma / alpha of a level (Karras et al. 2022); infinite at alpha = 0. */
    static double ve(NoiseLevel level) {
        return level.alpha() == 0 ? Double.POSITIVE_INFINITY : level.sigma() / level.alpha();
    }

    /** a x + b y. */
    static Tensor lin(double a, Tensor x, double b, Tensor y) {
        return x.mul(Tensors.scalar(a)).add(y.mul(Tensors.scalar(b)));
    }

    /** a x. */
    static Tensor scale(double a, Tensor x) {
        return x.mul(Tensors.scalar(a));
    }

    /** x clamped to [-range, range] (diffusers' clip_sample). */
    static Tensor clamp(Tensor x, double range) {
        return x.clamp(new ScalarOptional(Tensors.scalar(-range)), new ScalarOptional(Tensors.scalar(range)));
    }
}
