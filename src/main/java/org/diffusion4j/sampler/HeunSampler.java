package org.diffusion4j.sampler;

import java.util.List;
import java.util.function.DoubleFunction;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.diffusion4j.model.Denoiser;
import org.diffusion4j.schedule.NoiseLevel;
import org.diffusion4j.model.Prediction;
import org.diffusion4j.tensor.Shapes;
import org.diffusion4j.tensor.Tensors;

/**
 * Heun's second-order method on the probability-flow ODE (Karras et al. 2022, algorithm 1, deterministic): an Euler
 * predictor to sigma', a second evaluation there, and the average of the two slopes. The step to sigma' = 0 is a
 * plain Euler step (the slope at 0 is undefined), as in diffusers' HeunDiscreteScheduler. Two model evaluations per
 * step but the last.
 *
 * <p>A second-order step depends on the ODE's time variable. On flow-matching levels (alpha + sigma = 1 at every
 * level) it integrates in t, where the path is straight: x' = x + (t' - t) (v1 + v2) / 2 with v = eps - x0. On
 * other levels it integrates in the VE sigma (Karras et al.), where the slope is eps.
 *
 * <p>With {@link Churn} it is their stochastic sampler (algorithm 2): before step i, a level s_i in [tMin, tMax] (VE
 * sigma) is raised to s^ = s_i (1 + gamma), gamma = min(S_churn / N, sqrt(2) - 1), by adding fresh noise of size
 * S_noise sqrt(s^2 - s_i^2) to the VE state x / alpha; the Heun step then starts from s^. Levels with alpha = 0 are
 * never churned (their VE sigma is infinite).
 */
public final class HeunSampler {
    private HeunSampler() {}

    /**
     * Karras et al.'s churn settings.
     *
     * @param amount S_churn >= 0, the total added noise over the run (0 = deterministic)
     * @param tMin   the smallest VE sigma that is churned
     * @param tMax   the largest VE sigma that is churned (may be infinite)
     * @param noise  S_noise, slightly above 1 to offset the denoiser's tendency to remove too much noise
     */
    public record Churn(double amount, double tMin, double tMax, double noise) {
        /** No churn: the deterministic sampler. */
        public static final Churn NONE = new Churn(0, 0.05, 50, 1.003);

        public Churn {
            if (!(amount >= 0) || Double.isInfinite(amount)) {
                throw new IllegalArgumentException("churn must be finite and >= 0, got " + amount);
            }
            if (!(tMin >= 0) || !(tMax >= tMin)) {
                throw new IllegalArgumentException("churn range needs 0 <= s-tmin <= s-tmax, got [" + tMin + ", "
                        + tMax + "]");
            }
            if (!(noise > 0) || Double.isInfinite(noise)) {
                throw new IllegalArgumentException("s-noise must be finite and > 0, got " + noise);
            }
        }

        /** gamma for one of {@code n} steps starting at VE sigma {@code s}. */
        double gamma(double s, int n) {
            return s >= tMin && s <= tMax && Double.isFinite(s) ? Math.min(amount / n, Math.sqrt(2) - 1) : 0;
        }
    }

    /** The deterministic sampler. */
    public static Tensor sample(Denoiser model, Tensor xT, List<NoiseLevel> levels, StepListener listener) {
        return sample(model, xT, levels, Churn.NONE, s -> {
            throw new IllegalStateException("no churn, no level needed");
        }, shape -> {
            throw new IllegalStateException("no churn, no noise needed");
        }, listener);
    }

    /**
     * @param xT     the sample at {@code levels[0]}, [B, ...]; not modified
     * @param levels N+1 levels from most to least noisy, with alpha &gt; 0 at all but the last
     * @param churn  how much noise to add before each step ({@link Churn#NONE}: none)
     * @param atVe   the model's noise level at a VE sigma s = sigma / alpha (for the churned levels)
     * @param noise  drawn from before every churned step
     * @return the sample at the last level, shaped like xT
     */
    public static Tensor sample(Denoiser model, Tensor xT, List<NoiseLevel> levels, Churn churn,
                                DoubleFunction<NoiseLevel> atVe, NoiseSource noise, StepListener listener) {
        SamplerSupport.checkLevels(xT, levels);
        long[] shape = Shapes.of(xT);
        boolean flow = levels.stream().allMatch(l -> Math.abs(l.alpha() + l.sigma() - 1) < 1e-9);
        if (!flow) {
            SamplerSupport.requireFiniteVe(levels, "Heun");
        }
        int n = levels.size() - 1;
        int evaluations = 0;
        for (int i = 0; i < n; i++) {
            evaluations += levels.get(i + 1).sigma() == 0 ? 1 : 2;
        }
        int k = 0;
        Tensor x = xT.clone();
        try (NoGradGuard guard = new NoGradGuard()) {
            for (int i = 0; i < n; i++) {
                NoiseLevel from = levels.get(i);
                NoiseLevel to = levels.get(i + 1);
                try (PointerScope scope = new PointerScope()) {
                    double veSigma = from.alpha() > 0 ? SamplerSupport.ve(from) : Double.POSITIVE_INFINITY;
                    double gamma = churn.gamma(veSigma, n);
                    if (gamma > 0) {
                        NoiseLevel raised = atVe.apply(veSigma * (1 + gamma));
                        double added = churn.noise() * veSigma * Math.sqrt((1 + gamma) * (1 + gamma) - 1);
                        Tensor ve = SamplerSupport.scale(1 / from.alpha(), x)
                                .add(SamplerSupport.scale(added, noise.next(shape)));
                        x.copy_(SamplerSupport.scale(raised.alpha(), ve));
                        from = raised;
                    }
                    Prediction p = model.predict(x, from);
                    listener.onStep(k++, evaluations, x, p.x0());
                    // Euler predictor, x~ = alpha' (x0 + sigma'_VE eps).
                    Tensor predicted = SamplerSupport.lin(to.alpha(), p.x0(), to.sigma(), p.eps());
                    if (to.sigma() == 0) {
                        x.copy_(predicted);
                        continue;
                    }
                    Prediction q = model.predict(predicted, to);
                    listener.onStep(k++, evaluations, predicted, q.x0());
                    if (flow) {
                        Tensor v = p.eps().sub(p.x0()).add(q.eps().sub(q.x0()));
                        x.copy_(x.add(SamplerSupport.scale((to.sigma() - from.sigma()) / 2, v)));
                        continue;
                    }
                    // In the VE view the slopes are the eps predictions: s' = s + (sigma' - sigma) (eps1 + eps2) / 2.
                    double dt = SamplerSupport.ve(to) - SamplerSupport.ve(from);
                    Tensor s = SamplerSupport.scale(1 / from.alpha(), x);
                    Tensor slope = p.eps().add(q.eps()).mul(Tensors.scalar(0.5));
                    x.copy_(SamplerSupport.scale(to.alpha(), s.add(SamplerSupport.scale(dt, slope))));
                }
            }
        }
        return x;
    }
}
