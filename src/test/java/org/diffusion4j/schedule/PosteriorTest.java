package org.diffusion4j.schedule;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.diffusion4j.tensor.Rng;
import org.diffusion4j.tensor.Tensors;
import org.junit.jupiter.api.Test;

class PosteriorTest {
    /**
     * Draw x_prev ~ q(x_prev | x0), then x_t ~ q(x_t | x_prev); the residual x_prev - mean(x0, x_t) must have zero mean,
     * the posterior variance, and no correlation with x_t. That pins both coefficients and the variance.
     */
    @Test
    void matchesMonteCarloOfTheForwardChain() {
        double abPrev = 0.6;
        double abT = 0.45;
        Posterior q = Posterior.between(abT, abPrev);
        int n = 400_000;
        try (PointerScope scope = new PointerScope()) {
            Rng rng = Rng.of(5);
            Tensor x0 = rng.randn(n).mul(Tensors.scalar(0.7)).add(Tensors.scalar(0.3));
            Tensor xPrev = x0.mul(Tensors.scalar(Math.sqrt(abPrev))).add(rng.randn(n).mul(Tensors.scalar(Math.sqrt(1 - abPrev))));
            double alphaT = abT / abPrev;
            Tensor xt = xPrev.mul(Tensors.scalar(Math.sqrt(alphaT))).add(rng.randn(n).mul(Tensors.scalar(Math.sqrt(1 - alphaT))));
            Tensor resid = xPrev.sub(q.mean(x0, xt));
            assertThat(resid.mean().item_double()).isCloseTo(0, within(0.005));
            assertThat(resid.var().item_double()).isCloseTo(q.variance(), within(0.01 * q.variance()));
            double cov = resid.sub(resid.mean()).mul(xt.sub(xt.mean())).mean().item_double();
            assertThat(cov).isCloseTo(0, within(0.004));
        }
        assertThat(q.beta()).isCloseTo(1 - abT / abPrev, within(1e-15));
    }

    @Test
    void finalStepIsDeterministic() {
        Posterior q = Posterior.between(0.99, 1.0);
        assertThat(q.variance()).isEqualTo(0.0);
        assertThat(q.coefX0()).isCloseTo(1, within(1e-12));
        assertThat(q.coefXt()).isCloseTo(0, within(1e-12));
    }

    @Test
    void rejectsLevelsInTheWrongOrder() {
        assertThatThrownBy(() -> Posterior.between(0.5, 0.4)).hasMessageContaining("alpha-bar_prev");
        assertThatThrownBy(() -> Posterior.between(1.0, 1.0)).hasMessageContaining("alpha-bar_t");
    }
}
