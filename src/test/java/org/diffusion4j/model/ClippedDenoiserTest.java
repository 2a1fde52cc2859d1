package org.diffusion4j.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.diffusion4j.schedule.NoiseLevel;
import org.diffusion4j.tensor.Tensors;
import org.junit.jupiter.api.Test;

class ClippedDenoiserTest {
    /** Predicts x0 = 3 x (out of range where |x| > 1/3) and the eps that matches it. */
    private static Prediction overshoot(Tensor x, NoiseLevel level) {
        Tensor x0 = x.mul(Tensors.scalar(3));
        return new Prediction(x0, x.sub(x0.mul(Tensors.scalar(level.alpha()))).div(Tensors.scalar(level.sigma())));
    }

    @Test
    void clampsX0AndKeepsEpsConsistentWithX() {
        try (PointerScope scope = new PointerScope()) {
            NoiseLevel level = new NoiseLevel(500, 0.6, 0.8);
            Tensor x = Tensors.fromFloats(new float[] {-1f, 0.1f, 0.5f}, 1, 3);
            Prediction p = new ClippedDenoiser(ClippedDenoiserTest::overshoot, 1.0).predict(x, level);
            assertThat(Tensors.toFloats(p.x0())).containsExactly(-1f, 0.3f, 1f);
            float[] eps = Tensors.toFloats(p.eps());
            float[] xs = {-1f, 0.1f, 0.5f};
            float[] x0 = {-1f, 0.3f, 1f};
            for (int i = 0; i < 3; i++) {
                // x = alpha x0 + sigma eps still holds after clipping.
                assertThat(0.6 * x0[i] + 0.8 * eps[i]).isCloseTo(xs[i], within(1e-6));
            }
        }
    }

    @Test
    void keepsALearnedVarianceAtEveryLevel() {
        try (PointerScope scope = new PointerScope()) {
            Tensor x = Tensors.fromFloats(new float[] {-1f, 0.1f, 0.5f}, 1, 3);
            Denoiser withVariance = (in, level) -> {
                Prediction p = overshoot(in, level.sigma() == 0 ? new NoiseLevel(1, 0.6, 0.8) : level);
                return new Prediction(p.x0(), p.eps(), in.mul(Tensors.scalar(0.5)));
            };
            for (NoiseLevel level : new NoiseLevel[] {new NoiseLevel(500, 0.6, 0.8), new NoiseLevel(0, 1, 0)}) {
                Prediction p = new ClippedDenoiser(withVariance, 1.0).predict(x, level);
                assertThat(Tensors.toFloats(p.variance())).containsExactly(-0.5f, 0.05f, 0.25f);
            }
        }
    }

    @Test
    void leavesInRangePredictionsAlone() {
        try (PointerScope scope = new PointerScope()) {
            NoiseLevel level = new NoiseLevel(10, 0.99, 0.141);
            Tensor x = Tensors.fromFloats(new float[] {-0.2f, 0.05f, 0.3f}, 3, 1);
            Prediction raw = overshoot(x, level);
            Prediction p = new ClippedDenoiser(ClippedDenoiserTest::overshoot, 1.0).predict(x, level);
            assertThat(Tensors.toFloats(p.x0())).containsExactly(Tensors.toFloats(raw.x0()));
            float[] expected = Tensors.toFloats(raw.eps());
            float[] got = Tensors.toFloats(p.eps());
            for (int i = 0; i < 3; i++) {
                assertThat(got[i]).isCloseTo(expected[i], within(1e-4f));
            }
        }
    }

    @Test
    void rejectsBadBounds() {
        Denoiser d = ClippedDenoiserTest::overshoot;
        assertThatThrownBy(() -> new ClippedDenoiser(d, 0)).hasMessageContaining("clip bound must be finite and > 0");
        assertThatThrownBy(() -> new ClippedDenoiser(d, Double.NaN)).hasMessageContaining("clip bound");
        assertThatThrownBy(() -> new ClippedDenoiser(null, 1)).hasMessageContaining("denoiser to clip");
    }
}
