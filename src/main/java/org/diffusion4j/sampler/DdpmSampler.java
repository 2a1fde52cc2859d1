package org.diffusion4j.sampler;

import java.util.List;
import java.util.Locale;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
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
        FIXED_LARGE,
        /**
         * Learned by the model (Nichol &amp; Dhariwal 2021, eq. 15): log variance v log beta_t + (1 - v) log beta-tilde_t
         * per element with v = (model output + 1) / 2, read from {@link Prediction#variance}. diffusers
         * "learned_range".
         */
        LEARNED_RANGE;

        public static Variance parse(String s) {
            return switch (s.trim().toLowerCase(Locale.ROOT).replace('-', '_')) {
                case "fixed_small" -> FIXED_SMALL;
                case "fixed_large" -> FIXED_LARGE;
                case "learned_range" -> LEARNED_RANGE;
                default -> throw new IllegalArgumentException("unknown variance type '" + s
                        + "'; expected fixed_small, fixed_large or learned_range");
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
                    if (s.timestep() > 0) {
                        next = next.add(scaled(noise.next(shape), options.variance(), q, p));
                    }
                    x.copy_(next);
                }
            }
        }
        return x;
    }

    /** Standard normal noise times the reverse step's standard deviation (per element for a learned variance). */
    private static Tensor scaled(Tensor z, Variance variance, Posterior q, Prediction p) {
        double small = Math.max(q.variance(), 1e-20);
        return switch (variance) {
            case FIXED_SMALL -> z.mul(Tensors.scalar(Math.sqrt(small)));
            case FIXED_LARGE -> z.mul(Tensors.scalar(Math.sqrt(q.beta())));
            case LEARNED_RANGE -> {
                if (p.variance() == null) {
                    throw new IllegalArgumentException("variance learned_range: this model predicts no variance "
                            + "(its output has as many channels as its input); use fixed_small or fixed_large");
                }
                // exp(0.5 (frac log beta + (1 - frac) log beta-tilde)), frac = (v + 1) / 2.
                Tensor frac = p.variance().add(Tensors.scalar(1)).div(Tensors.scalar(2));
                yield frac.mul(Tensors.scalar(Math.log(q.beta()))).add(torch.ones_like(frac).sub(frac)
                        .mul(Tensors.scalar(Math.log(small)))).mul(Tensors.scalar(0.5)).exp().mul(z);
            }
        };
    }
}
