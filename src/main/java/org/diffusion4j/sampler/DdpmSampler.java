package org.diffusion4j.sampler;

import java.util.List;
import java.util.Locale;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.diffusion4j.model.Denoiser;
import org.diffusion4j.schedule.NoiseLevel;
import org.diffusion4j.model.Prediction;
import org.diffusion4j.schedule.Posterior;
import org.diffusion4j.tensor.Shapes;
import org.diffusion4j.tensor.Tensors;

/**
 * Ancestral sampling (Ho et al. 2020, algorithm 2): x_prev ~ q(x_prev | x_t, x0_hat) with x0_hat from the denoiser.
 * Matches diffusers' DDPMScheduler step for step.
 */
public final class DdpmSampler {
    private DdpmSampler() {}

    /** The reverse-step variance (Ho et al. 2020, section 3.2). */
    public enum Variance {
        /** beta-tilde_t, the true posterior variance; the lower bound. diffusers "fixed_small". */
        FIXED_SMALL,
        /** beta_t; the upper bound. diffusers "fixed_large". */
        FIXED_LARGE;

        public static Variance parse(String s) {
            return switch (s.trim().toLowerCase(Locale.ROOT).replace('-', '_')) {
                case "fixed_small" -> FIXED_SMALL;
                case "fixed_large" -> FIXED_LARGE;
                default -> throw new IllegalArgumentException("unknown variance type '" + s
                        + "'; expected fixed_small or fixed_large");
            };
        }
    }

    /**
     * @param variance  which reverse variance to use (fixed_small is diffusers' default)
     * @param clip      clamp x0_hat to [-clipRange, clipRange] (diffusers' clip_sample; right for data in [-1, 1])
     * @param clipRange the clamp bound (1.0)
     */
    public record Options(Variance variance, boolean clip, double clipRange) {
        public Options {
            if (variance == null) {
                throw new IllegalArgumentException("variance must be set");
            }
            if (clip && !(clipRange > 0)) {
                throw new IllegalArgumentException("clip range must be > 0, got " + clipRange);
            }
        }

        /** fixed_small, no clipping. */
        public static Options defaults() {
            return new Options(Variance.FIXED_SMALL, false, 1.0);
        }
    }

    /**
     * Runs the reverse chain.
     *
     * @param model  the denoiser
     * @param xT     the starting noise [B, ...]; not modified
     * @param steps  noise levels from most to least noisy
     * @param noise  the source of the per-step noise
     * @return x_0, a new tensor shaped like xT
     */
    public static Tensor sample(Denoiser model, Tensor xT, List<Step> steps, NoiseSource noise, Options options,
                                StepListener listener) {
        SamplerSupport.checkInputs(xT, steps);
        long[] shape = Shapes.of(xT);
        Tensor x = xT.clone();
        try (NoGradGuard guard = new NoGradGuard()) {
            for (int i = 0; i < steps.size(); i++) {
                Step s = steps.get(i);
                try (PointerScope scope = new PointerScope()) {
                    Prediction p = model.predict(x, NoiseLevel.vp(s.timestep(), s.alphaBar()));
                    Tensor x0 = options.clip() ? SamplerSupport.clamp(p.x0(), options.clipRange()) : p.x0();
                    listener.onStep(i, steps.size(), x, x0);
                    Posterior q = Posterior.between(s.alphaBar(), s.alphaBarPrev());
                    Tensor next = q.mean(x0, x);
                    double variance = options.variance() == Variance.FIXED_SMALL ? Math.max(q.variance(), 1e-20)
                            : q.beta();
                    if (s.timestep() > 0) {
                        next = next.add(noise.next(shape).mul(Tensors.scalar(Math.sqrt(variance))));
                    }
                    x.copy_(next);
                }
            }
        }
        return x;
    }
}
