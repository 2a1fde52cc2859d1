package org.diffusion4j.sampler;

import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.diffusion4j.model.Denoiser;
import org.diffusion4j.schedule.NoiseLevel;
import org.diffusion4j.model.Prediction;
import org.diffusion4j.tensor.Shapes;

/**
 * Ancestral Euler (k-diffusion's sample_euler_ancestral, diffusers' EulerAncestralDiscreteScheduler). In the VE view,
 * each step goes deterministically down to sigma_down and adds fresh noise of size sigma_up, with
 * sigma_up^2 = sigma'^2 (sigma^2 - sigma'^2) / sigma^2 and sigma_down^2 = sigma'^2 - sigma_up^2, so the marginal noise
 * level is sigma' again: s' = x0 + sigma_down eps + sigma_up z.
 */
public final class EulerAncestralSampler {
    private EulerAncestralSampler() {}

    /**
     * @param xT     the sample at {@code levels[0]}, [B, ...]; not modified
     * @param levels N+1 levels from most to least noisy
     * @param noise  drawn from at every step with sigma_up > 0
     * @return the sample at the last level, shaped like xT
     */
    public static Tensor sample(Denoiser model, Tensor xT, List<NoiseLevel> levels, NoiseSource noise,
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
                    listener.onStep(i, n, x, p.x0());
                    double sigmaTo = SamplerSupport.ve(to);
                    // sigma'^2 / sigma^2 in VP terms, which stays finite when alpha = 0 at the current level.
                    double ratio = to.alpha() == 0 ? 1
                            : (to.sigma() * from.alpha()) * (to.sigma() * from.alpha())
                                    / ((to.alpha() * from.sigma()) * (to.alpha() * from.sigma()));
                    double up = sigmaTo * Math.sqrt(Math.max(0, 1 - ratio));
                    double down = Math.sqrt(Math.max(0, sigmaTo * sigmaTo - up * up));
                    Tensor s = p.x0().add(SamplerSupport.scale(down, p.eps()));
                    if (up > 0) {
                        s = s.add(SamplerSupport.scale(up, noise.next(shape)));
                    }
                    x.copy_(SamplerSupport.scale(to.alpha(), s));
                }
            }
        }
        return x;
    }
}
