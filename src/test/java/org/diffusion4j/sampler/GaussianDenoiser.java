package org.diffusion4j.sampler;

import java.util.List;
import org.bytedeco.pytorch.Tensor;
import org.diffusion4j.model.Denoiser;
import org.diffusion4j.schedule.NoiseLevel;
import org.diffusion4j.model.Prediction;
import java.util.ArrayList;
import org.diffusion4j.schedule.Sigmas;
import org.diffusion4j.tensor.Tensors;

/**
 * The exact denoiser of Gaussian data N(0, c^2 I): E[x0 | x] = alpha c^2 x / (alpha^2 c^2 + sigma^2). Its
 * probability-flow ODE has a closed form (in the VE view s scales with sqrt(c^2 + sigma^2)), so solver error and
 * order can be measured exactly.
 */
final class GaussianDenoiser implements Denoiser {
    final double c;

    GaussianDenoiser(double c) {
        this.c = c;
    }

    @Override
    public Prediction predict(Tensor x, NoiseLevel level) {
        double a = level.alpha();
        double s = level.sigma();
        double k = a * c * c / (a * a * c * c + s * s);
        Tensor x0 = x.mul(Tensors.scalar(k));
        Tensor eps = x.sub(x0.mul(Tensors.scalar(a))).div(Tensors.scalar(s));
        return new Prediction(x0, eps);
    }

    /** The exact ODE solution from x at {@code from} down to x0 (sigma = 0). */
    Tensor exact(Tensor x, NoiseLevel from) {
        double ve = from.sigma() / from.alpha();
        return x.mul(Tensors.scalar(c / (from.alpha() * Math.sqrt(c * c + ve * ve))));
    }

    /** n + 1 levels: n Karras sigmas (Karras et al. 2022, rho 7) from 40 down to 0.02 in the VE view, then 0. */
    static List<NoiseLevel> levels(int n) {
        double[] sigmas = Sigmas.karras(0.02, 40, n, 7);
        List<NoiseLevel> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            double alpha = 1 / Math.sqrt(1 + sigmas[i] * sigmas[i]);
            out.add(new NoiseLevel(n - i, alpha, sigmas[i] * alpha));
        }
        out.add(new NoiseLevel(0, 1, 0));
        return out;
    }

    /** max |a - b|. */
    static double maxError(Tensor a, Tensor b) {
        return a.sub(b).abs().max().item_double();
    }
}
