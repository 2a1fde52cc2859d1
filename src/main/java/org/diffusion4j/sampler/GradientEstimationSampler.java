package org.diffusion4j.sampler;

import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.diffusion4j.model.Denoiser;
import org.diffusion4j.schedule.NoiseLevel;
import org.diffusion4j.model.Prediction;
import org.diffusion4j.tensor.History;
import org.diffusion4j.tensor.Shapes;

/**
 * The gradient-estimation sampler of Permenter &amp; Yuan 2024 ("Interpreting and Improving Diffusion Models from an
 * Optimization Perspective", smalldiffusion's {@code samples}). In the VE view, with eps_avg = gam eps + (1 - gam)
 * eps_prev (eps alone at the first step):
 * sigma_p = (sigma' / sigma^mu)^(1 / (1 - mu)), eta = sqrt(sigma'^2 - sigma_p^2),
 * s' = s - (sigma - sigma_p) eps_avg + eta z.
 * gam = 1, mu = 0 is deterministic DDIM; gam = 1, mu = 1/2 is DDPM with the posterior variance; gam = 2 is the
 * paper's recommended accelerated sampler.
 */
public final class GradientEstimationSampler {
    private GradientEstimationSampler() {}

    /**
     * @param gam the weight of the newest eps in the running estimate (1 = none of the previous)
     * @param mu  in [0, 1): how much of each step is re-noised (0 deterministic, 1/2 DDPM)
     */
    public record Options(double gam, double mu) {
        public Options {
            if (!Double.isFinite(gam) || !(gam > 0)) {
                throw new IllegalArgumentException("gam must be finite and > 0, got " + gam);
            }
            if (!(mu >= 0 && mu < 1)) {
                throw new IllegalArgumentException("mu must be in [0, 1), got " + mu);
            }
        }
    }

    /**
     * @param xT     the sample at {@code levels[0]}, [B, ...]; not modified
     * @param levels N+1 levels from most to least noisy, alpha &gt; 0 at all but the last
     * @param noise  drawn from when eta &gt; 0
     * @return the sample at the last level, shaped like xT
     */
    public static Tensor sample(Denoiser model, Tensor xT, List<NoiseLevel> levels, NoiseSource noise, Options options,
                                StepListener listener) {
        SamplerSupport.checkLevels(xT, levels);
        SamplerSupport.requireFiniteVe(levels, "the gradient-estimation sampler");
        int n = levels.size() - 1;
        long[] shape = Shapes.of(xT);
        Tensor x = xT.clone();
        try (NoGradGuard guard = new NoGradGuard(); History previous = new History(1)) {
            for (int i = 0; i < n; i++) {
                NoiseLevel from = levels.get(i);
                NoiseLevel to = levels.get(i + 1);
                try (PointerScope scope = new PointerScope()) {
                    Prediction p = model.predict(x, from);
                    listener.onStep(i, n, x, p.x0());
                    Tensor eps = previous.isEmpty() ? p.eps()
                            : SamplerSupport.lin(options.gam(), p.eps(), 1 - options.gam(), previous.get(0));
                    double sigma = SamplerSupport.ve(from);
                    double sigmaNext = SamplerSupport.ve(to);
                    double sigmaP = Math.pow(sigmaNext / Math.pow(sigma, options.mu()), 1 / (1 - options.mu()));
                    double eta = Math.sqrt(Math.max(0, sigmaNext * sigmaNext - sigmaP * sigmaP));
                    Tensor s = SamplerSupport.scale(1 / from.alpha(), x).sub(SamplerSupport.scale(sigma - sigmaP, eps));
                    if (eta > 0) {
                        s = s.add(SamplerSupport.scale(eta, noise.next(shape)));
                    }
                    previous.push(p.eps());
                    x.copy_(SamplerSupport.scale(to.alpha(), s));
                }
            }
        }
        return x;
    }
}
