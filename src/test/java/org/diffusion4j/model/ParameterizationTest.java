package org.diffusion4j.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.diffusion4j.tensor.Rng;
import org.diffusion4j.tensor.Tensors;
import org.junit.jupiter.api.Test;

class ParameterizationTest {
    /** Feeding each parameterisation its own target must give back exactly x0 and eps. */
    @Test
    void targetRoundTripsToX0AndEps() {
        try (PointerScope scope = new PointerScope()) {
            Rng rng = Rng.of(1);
            Tensor x0 = rng.randn(torch.ScalarType.Double, 6, 3);
            Tensor eps = rng.randn(torch.ScalarType.Double, 6, 3);
            for (Parameterization p : Parameterization.values()) {
                // Per-sample coefficients [6, 1]: VP ones for eps/x0/v, alpha + sigma = 1 for flow.
                Tensor t = rng.rand(6, 1).to(torch.ScalarType.Double).mul(Tensors.scalar(0.98)).add(Tensors.scalar(0.01));
                Tensor alpha = p == Parameterization.FLOW ? torch.ones_like(t).sub(t) : t.sqrt();
                Tensor sigma = p == Parameterization.FLOW ? t : torch.ones_like(t).sub(t).sqrt();
                Tensor x = x0.mul(alpha).add(eps.mul(sigma));
                Prediction pred = p.toPrediction(p.target(x0, eps, alpha, sigma), x, alpha, sigma);
                assertThat(pred.x0().sub(x0).abs().max().item_double()).as("%s x0", p).isLessThan(1e-12);
                assertThat(pred.eps().sub(eps).abs().max().item_double()).as("%s eps", p).isLessThan(1e-12);
            }
        }
    }

    @Test
    void scalarCoefficientsMatchTensorOnes() {
        try (PointerScope scope = new PointerScope()) {
            Rng rng = Rng.of(2);
            Tensor x = rng.randn(4, 2);
            Tensor out = rng.randn(4, 2);
            Prediction a = Parameterization.V.toPrediction(out, x, 0.6, 0.8);
            Prediction b = Parameterization.V.toPrediction(out, x, torch.full(new long[] {4, 1}, Tensors.scalar(0.6)),
                    torch.full(new long[] {4, 1}, Tensors.scalar(0.8)));
            assertThat(Tensors.toFloats(a.x0())).containsExactly(Tensors.toFloats(b.x0()));
            // v-prediction: x0 = alpha x - sigma v.
            assertThat(Tensors.toFloats(a.x0())).containsExactly(Tensors.toFloats(x.mul(Tensors.scalar(0.6))
                    .sub(out.mul(Tensors.scalar(0.8)))), org.assertj.core.api.Assertions.within(1e-6f));
        }
    }

    @Test
    void parsesDiffusersAndShortNames() {
        assertThat(Parameterization.parse("epsilon")).isEqualTo(Parameterization.EPS);
        assertThat(Parameterization.parse("eps")).isEqualTo(Parameterization.EPS);
        assertThat(Parameterization.parse("v_prediction")).isEqualTo(Parameterization.V);
        assertThat(Parameterization.parse("sample")).isEqualTo(Parameterization.X0);
        assertThat(Parameterization.parse("x0")).isEqualTo(Parameterization.X0);
        assertThat(Parameterization.parse("flow")).isEqualTo(Parameterization.FLOW);
        assertThatThrownBy(() -> Parameterization.parse("score")).hasMessageContaining("v_prediction");
    }
}
