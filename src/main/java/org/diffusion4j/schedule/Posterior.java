package org.diffusion4j.schedule;

import org.bytedeco.pytorch.Tensor;
import org.diffusion4j.tensor.Shapes;
import org.diffusion4j.tensor.Tensors;

/**
 * The forward-process posterior q(x_prev | x_t, x0) = N(coefX0 * x0 + coefXt * x_t, variance * I) between two
 * noise levels alpha-bar_t and alpha-bar_prev (Ho et al. 2020, eqs. 6-7, generalised to skipped steps).
 *
 * @param coefX0   sqrt(alpha-bar_prev) beta_t / (1 - alpha-bar_t)
 * @param coefXt   sqrt(alpha_t) (1 - alpha-bar_prev) / (1 - alpha-bar_t)
 * @param variance beta-tilde = (1 - alpha-bar_prev) / (1 - alpha-bar_t) * beta_t
 * @param beta     beta_t = 1 - alpha-bar_t / alpha-bar_prev, the "fixed_large" variance
 */
public record Posterior(double coefX0, double coefXt, double variance, double beta) {

    /** The posterior between alpha-bar_t and the less noisy alpha-bar_prev (use 1 for the final step). */
    public static Posterior between(double alphaBarT, double alphaBarPrev) {
        if (!(alphaBarT >= 0 && alphaBarT < 1)) {
            throw new IllegalArgumentException("alpha-bar_t must be in [0, 1), got " + alphaBarT);
        }
        if (!(alphaBarPrev >= alphaBarT && alphaBarPrev <= 1)) {
            throw new IllegalArgumentException("alpha-bar_prev must be in [alpha-bar_t, 1] = [" + alphaBarT
                    + ", 1], got " + alphaBarPrev);
        }
        double alphaT = alphaBarT / alphaBarPrev;
        double betaT = 1 - alphaT;
        double oneMinusT = 1 - alphaBarT;
        double oneMinusPrev = 1 - alphaBarPrev;
        return new Posterior(Math.sqrt(alphaBarPrev) * betaT / oneMinusT, Math.sqrt(alphaT) * oneMinusPrev / oneMinusT,
                oneMinusPrev / oneMinusT * betaT, betaT);
    }

    /** The posterior mean for x0 and x_t of the same shape. */
    public Tensor mean(Tensor x0, Tensor xt) {
        Shapes.requireSame(x0, "x0", xt, "x_t");
        return x0.mul(Tensors.scalar(coefX0)).add(xt.mul(Tensors.scalar(coefXt)));
    }
}
