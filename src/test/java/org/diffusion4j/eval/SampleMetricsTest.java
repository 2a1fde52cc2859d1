package org.diffusion4j.eval;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.diffusion4j.tensor.Rng;
import org.diffusion4j.tensor.Tensors;
import org.junit.jupiter.api.Test;

class SampleMetricsTest {
    @Test
    void slicedWassersteinOfAShiftIsTheShiftLength() {
        try (PointerScope scope = new PointerScope()) {
            Tensor a = Rng.of(1).randn(3000, 2);
            assertThat(SampleMetrics.slicedWasserstein(a, a, 64, Rng.of(2))).isZero();
            // Shifting by (0.6, 0.8) moves every projection onto u by u.(0.6, 0.8); the mean of its square over
            // random unit directions in 2-D is |shift|^2 / 2, so SW2 = 1 / sqrt(2).
            Tensor b = a.add(Tensors.fromFloats(new float[] {0.6f, 0.8f}, 1, 2));
            assertThat(SampleMetrics.slicedWasserstein(a, b, 4096, Rng.of(2))).isCloseTo(Math.sqrt(0.5), within(0.02));
        }
    }

    @Test
    void sameDistributionScoresNearZeroAndDifferentOnesDoNot() {
        try (PointerScope scope = new PointerScope()) {
            Tensor a = Rng.of(1).randn(1500, 2);
            Tensor b = Rng.of(2).randn(1500, 2);
            Tensor wide = Rng.of(3).randn(1500, 2).mul(Tensors.scalar(1.5));
            double swdSame = SampleMetrics.slicedWasserstein(a, b, 128, Rng.of(4));
            double swdDiff = SampleMetrics.slicedWasserstein(a, wide, 128, Rng.of(4));
            assertThat(swdSame).isLessThan(0.1);
            assertThat(swdDiff).isGreaterThan(3 * swdSame);
            double mmdSame = SampleMetrics.mmd(a, b, 1);
            double mmdDiff = SampleMetrics.mmd(a, wide, 1);
            assertThat(Math.abs(mmdSame)).isLessThan(0.005);
            assertThat(mmdDiff).isGreaterThan(0.03);
            assertThat(SampleMetrics.mmd(b, a, 1)).isCloseTo(mmdSame, within(1e-12));
        }
    }

    @Test
    void rejectsMismatchedInputs() {
        try (PointerScope scope = new PointerScope()) {
            Tensor a = Rng.of(1).randn(10, 2);
            assertThatThrownBy(() -> SampleMetrics.slicedWasserstein(a, Rng.of(1).randn(9, 2), 8, Rng.of(1)))
                    .hasMessageContaining("equal set sizes");
            assertThatThrownBy(() -> SampleMetrics.mmd(a, Rng.of(1).randn(10, 3), 1)).hasMessageContaining("b:");
            assertThatThrownBy(() -> SampleMetrics.mmd(a, a, 0)).hasMessageContaining("scale");
        }
    }
}
