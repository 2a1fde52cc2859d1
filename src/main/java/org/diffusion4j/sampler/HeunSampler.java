package org.diffusion4j.sampler;

import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.diffusion4j.model.Denoiser;
import org.diffusion4j.model.NoiseLevel;
import org.diffusion4j.model.Prediction;

/**
 * Heun's second-order method on the probability-flow ODE (Karras et al. 2022, algorithm 1, deterministic): an Euler
 * predictor to sigma', a second evaluation there, and the average of the two slopes. The step to sigma' = 0 is a
 * plain Euler step (the slope at 0 is undefined), as in diffusers' HeunDiscreteScheduler. Two model evaluations per
 * step but the last.
 *
 * <p>A second-order step depends on the ODE's time variable. On flow-matching levels (alpha + sigma = 1 at every
 * level) it integrates in t, where the path is straight: x' = x + (t' - t) (v1 + v2) / 2 with v = eps - x0. On
 * other levels it integrates in the VE sigma (Karras et al.), where the slope is eps.
 */
public final class HeunSampler {
    private HeunSampler() {}

    /**
     * @param xT     the sample at {@code levels[0]}, [B, ...]; not modified
     * @param levels N+1 levels from most to least noisy, with alpha &gt; 0 at all but the last
     * @return the sample at the last level, shaped like xT
     */
    public static Tensor sample(Denoiser model, Tensor xT, List<NoiseLevel> levels, StepListener listener) {
        SamplerSupport.checkLevels(xT, levels);
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
                    Tensor slope = p.eps().add(q.eps()).mul(org.diffusion4j.tensor.Tensors.scalar(0.5));
                    x.copy_(SamplerSupport.scale(to.alpha(), s.add(SamplerSupport.scale(dt, slope))));
                }
            }
        }
        return x;
    }
}
