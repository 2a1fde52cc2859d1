package org.diffusion4j.sampler;

import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.diffusion4j.model.Denoiser;
import org.diffusion4j.schedule.NoiseLevel;
import org.diffusion4j.model.Prediction;
import org.diffusion4j.tensor.Shapes;
import org.diffusion4j.tensor.Tensors;

/**
 * DDIM (Song et al. 2021, eq. 12): x_prev = sqrt(a_prev) x0_hat + sqrt(1 - a_prev - s^2) eps_hat + s z, with
 * s = eta sqrt((1 - a_prev)/(1 - a_t)) sqrt(1 - a_t/a_prev) (eq. 16). eta = 0 is deterministic; eta = 1 has DDPM's
 * fixed_small variance.
 */
public final class DdimSampler {
    private DdimSampler() {}

    /**
     * @param eta                   stochasticity in [0, 1] (0 = deterministic DDIM)
     * @param clip                  clamp x0_hat to [-clipRange, clipRange]
     * @param clipRange             the clamp bound
     * @param useClippedModelOutput re-derive eps_hat from the clipped x0_hat (diffusers' use_clipped_model_output)
     */
    public record Options(double eta, boolean clip, double clipRange, boolean useClippedModelOutput) {
        public Options {
            if (!(eta >= 0) || Double.isInfinite(eta)) {
                throw new IllegalArgumentException("eta must be finite and >= 0, got " + eta);
            }
            if (clip && !(clipRange > 0)) {
                throw new IllegalArgumentException("clip range must be > 0, got " + clipRange);
            }
        }

        /** Deterministic DDIM without clipping. */
        public static Options deterministic() {
            return new Options(0, false, 1.0, false);
        }
    }

    /**
     * @param xT    starting noise [B, ...]; not modified
     * @param steps noise levels from most to least noisy
     * @param noise only drawn from when eta > 0
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
                    double a = s.alphaBar();
                    double aPrev = s.alphaBarPrev();
                    Prediction p = model.predict(x, NoiseLevel.vp(s.timestep(), a));
                    Tensor x0 = p.x0();
                    Tensor eps = p.eps();
                    if (options.clip()) {
                        x0 = SamplerSupport.clamp(x0, options.clipRange());
                        if (options.useClippedModelOutput()) {
                            eps = x.sub(x0.mul(Tensors.scalar(Math.sqrt(a)))).div(Tensors.scalar(Math.sqrt(1 - a)));
                        }
                    }
                    listener.onStep(i, steps.size(), x, x0);
                    double variance = (1 - aPrev) / (1 - a) * (1 - a / aPrev);
                    double std = options.eta() * Math.sqrt(variance);
                    double dirCoef = Math.sqrt(Math.max(0, 1 - aPrev - std * std));
                    Tensor next = x0.mul(Tensors.scalar(Math.sqrt(aPrev))).add(eps.mul(Tensors.scalar(dirCoef)));
                    if (options.eta() > 0) {
                        next = next.add(noise.next(shape).mul(Tensors.scalar(std)));
                    }
                    x.copy_(next);
                }
            }
        }
        return x;
    }
}
