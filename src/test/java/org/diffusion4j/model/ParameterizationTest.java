package org.diffusion4j.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import org.assertj.core.api.Assertions;
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
                    .sub(out.mul(Tensors.scalar(0.8)))), Assertions.within(1e-6f));
        }
    }

    /** EDM's table 1 at sigma = 1 (sigma_data 0.5), and the same network read on a VP level with the same s. */
    @Test
    void edmPreconditionsAsTheTableSaysOnAnyLevel() {
        try (PointerScope scope = new PointerScope()) {
            Parameterization edm = Parameterization.EDM;
            Tensor x = torch.full(new long[] {2, 1}, Tensors.scalar(1.5)).to(torch.ScalarType.Double);
            Tensor f = torch.full(new long[] {2, 1}, Tensors.scalar(-0.5)).to(torch.ScalarType.Double);
            Tensor one = torch.ones(new long[] {2, 1}).to(torch.ScalarType.Double);
            // c_skip 0.2, c_out 1 / sqrt(5), c_in 2 / sqrt(5), c_noise 0.
            Prediction p = edm.toPrediction(f, x, one, one);
            assertThat(Tensors.toDoubles(p.x0())[0]).isCloseTo(0.2 * 1.5 - 0.5 / Math.sqrt(5), within(1e-12));
            assertThat(Tensors.toDoubles(p.eps())[0]).isCloseTo(1.5 - Tensors.toDoubles(p.x0())[0], within(1e-12));
            assertThat(Tensors.toDoubles(edm.networkInput(x, one, one))[0]).isCloseTo(1.5 * 2 / Math.sqrt(5),
                    within(1e-12));
            Tensor t = torch.zeros(2);
            assertThat(Tensors.toFloats(edm.networkTime(t, one, one))).containsExactly(0f, 0f);
            // A VP level (0.6, 0.8) is s = 4/3: the same as VE at 4/3 on x / 0.6, with time 250 ln(4/3) per row.
            Tensor alpha = one.mul(Tensors.scalar(0.6));
            Tensor sigma = one.mul(Tensors.scalar(0.8));
            Tensor s = one.mul(Tensors.scalar(4.0 / 3));
            Prediction vp = edm.toPrediction(f, x, alpha, sigma);
            Prediction ve = edm.toPrediction(f, x.div(Tensors.scalar(0.6)), one, s);
            assertThat(Tensors.toDoubles(vp.x0())).containsExactly(Tensors.toDoubles(ve.x0()), within(1e-12));
            assertThat(Tensors.toDoubles(edm.networkInput(x, alpha, sigma))).containsExactly(
                    Tensors.toDoubles(edm.networkInput(x.div(Tensors.scalar(0.6)), one, s)), within(1e-12));
            assertThat(Tensors.toFloats(edm.networkTime(t, scalar(0.6), scalar(0.8)))).containsExactly(
                    new float[] {(float) (250 * Math.log(4.0 / 3)), (float) (250 * Math.log(4.0 / 3))}, within(1e-4f));
        }
    }

    private static Tensor scalar(double v) {
        return torch.scalar_tensor(Tensors.scalar(v));
    }

    @Test
    void parsesDiffusersAndShortNames() {
        assertThat(Parameterization.parse("epsilon")).isEqualTo(Parameterization.EPS);
        assertThat(Parameterization.parse("eps")).isEqualTo(Parameterization.EPS);
        assertThat(Parameterization.parse("v_prediction")).isEqualTo(Parameterization.V);
        assertThat(Parameterization.parse("sample")).isEqualTo(Parameterization.X0);
        assertThat(Parameterization.parse("x0")).isEqualTo(Parameterization.X0);
        assertThat(Parameterization.parse("flow")).isEqualTo(Parameterization.FLOW);
        assertThat(Parameterization.parse("edm")).isEqualTo(Parameterization.EDM);
        assertThatThrownBy(() -> Parameterization.parse("score")).hasMessageContaining("v_prediction");
    }
}
