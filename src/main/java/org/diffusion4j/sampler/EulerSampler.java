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
 * Euler's method on the probability-flow ODE (Karras et al. 2022, algorithm 2 without the second-order correction),
 * with optional "churn". In the variance-exploding view s = x / alpha, the step s' = s + (sigma' - sigma) (s - x0) /
 * sigma is x' = alpha' x0 + sigma' eps, written that way here so that a level with alpha = 0 (zero terminal SNR,
 * flow matching's t = 1) needs no division by alpha. On flow-matching levels (alpha = 1 - t, sigma = t) this is
 * exactly the rectified-flow Euler step x' = x + (t' - t) v, i.e. diffusers' FlowMatchEulerDiscreteScheduler.
 *
 * <p>Churn follows diffusers' EulerDiscreteScheduler rather than Karras: the model is evaluated at (x, sigma) first,
 * then noise raises sigma to sigma_hat = sigma (1 + gamma) and the output held fixed ({@link OutputKind}) is reused
 * at the noisier sample.
 */
public final class EulerSampler {
    private EulerSampler() {}

    /**
     * @param churn      s_churn: gamma = min(churn / N, sqrt(2) - 1) extra noise per step (0 = deterministic)
     * @param churnMin   s_tmin: churn only where the VE sigma is at least this
     * @param churnMax   s_tmax: and at most this
     * @param noiseScale s_noise: scale of the churn noise
     * @param held       the output reused at the churned sample (diffusers: the prediction type)
     */
    public record Options(double churn, double churnMin, double churnMax, double noiseScale, OutputKind held) {
        public Options {
            if (!(churn >= 0) || Double.isInfinite(churn)) {
                throw new IllegalArgumentException("s_churn must be finite and >= 0, got " + churn);
            }
            if (!(churnMin >= 0) || !(churnMax >= churnMin)) {
                throw new IllegalArgumentException("need 0 <= s_tmin <= s_tmax, got " + churnMin + " and " + churnMax);
            }
            if (!(noiseScale >= 0) || Double.isInfinite(noiseScale)) {
                throw new IllegalArgumentException("s_noise must be finite and >= 0, got " + noiseScale);
            }
            if (held == null) {
                throw new IllegalArgumentException("held output kind must be set");
            }
        }

        /** Deterministic Euler. */
        public static Options deterministic() {
            return new Options(0, 0, Double.POSITIVE_INFINITY, 1, OutputKind.EPS);
        }
    }

    /**
     * @param xT     the sample at {@code levels[0]}, [B, ...] (x = alpha x0 + sigma eps); not modified
     * @param levels N+1 levels from most to least noisy; the result is at the last one
     * @param noise  drawn from only when churning
     * @return the sample at the last level, a new tensor shaped like xT
     */
    public static Tensor sample(Denoiser model, Tensor xT, List<NoiseLevel> levels, NoiseSource noise, Options options,
                                StepListener listener) {
        SamplerSupport.checkLevels(xT, levels);
        int n = levels.size() - 1;
        long[] shape = Shapes.of(xT);
        Tensor x = xT.clone();
        try (NoGradGuard guard = new NoGradGuard()) {
            for (int i = 0; i < n; i++) {
                NoiseLevel from = levels.get(i);
                NoiseLevel to = levels.get(i + 1);
                try (PointerScope scope = new PointerScope()) {
                    Prediction p = model.predict(x, from);
                    double sigma = SamplerSupport.ve(from);
                    double gamma = sigma >= options.churnMin() && sigma <= options.churnMax()
                            ? Math.min(options.churn() / n, Math.sqrt(2) - 1) : 0;
                    Tensor next;
                    if (gamma > 0) {
                        SamplerSupport.requireFiniteVe(levels.subList(i, i + 2), "Euler with churn");
                        double sigmaHat = sigma * (gamma + 1);
                        Tensor s = SamplerSupport.scale(1 / from.alpha(), x);
                        Tensor z = SamplerSupport.scale(options.noiseScale(), noise.next(shape));
                        Tensor sHat = s.add(SamplerSupport.scale(Math.sqrt(sigmaHat * sigmaHat - sigma * sigma), z));
                        Tensor x0 = heldX0(options.held(), p, from, sHat, sigma, sigmaHat);
                        listener.onStep(i, n, x, x0);
                        Tensor d = sHat.sub(x0).div(Tensors.scalar(sigmaHat));
                        Tensor sNext = sHat.add(SamplerSupport.scale(SamplerSupport.ve(to) - sigmaHat, d));
                        next = SamplerSupport.scale(to.alpha(), sNext);
                    } else {
                        listener.onStep(i, n, x, p.x0());
                        next = SamplerSupport.lin(to.alpha(), p.x0(), to.sigma(), p.eps());
                    }
                    x.copy_(next);
                }
            }
        }
        return x;
    }

    /** The clean estimate at the churned VE sample sHat when {@code held} is reused from the evaluation at sigma. */
    private static Tensor heldX0(OutputKind held, Prediction p, NoiseLevel level, Tensor sHat, double sigma,
                                 double sigmaHat) {
        return switch (held) {
            case EPS -> sHat.sub(SamplerSupport.scale(sigmaHat, p.eps()));
            case X0 -> p.x0();
            // diffusers' v formula at the un-churned sigma: x0 = -sigma/sqrt(sigma^2+1) v + s/(sigma^2+1).
            case V -> SamplerSupport.lin(-sigma / Math.sqrt(sigma * sigma + 1), OutputKind.V.of(p, level),
                    1 / (sigma * sigma + 1), sHat);
        };
    }
}
