package org.diffusion4j.schedule;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.diffusion4j.tensor.Rng;
import org.diffusion4j.tensor.Tensors;
import org.junit.jupiter.api.Test;

class TimeSamplingTest {
    private static double fractionInMiddle(float[] t) {
        int in = 0;
        for (float v : t) {
            assertThat(v).isStrictlyBetween(0f, 1f);
            in += v > 0.25 && v < 0.75 ? 1 : 0;
        }
        return (double) in / t.length;
    }

    @Test
    void uniformCoversTheIntervalAndLogitNormalFavoursTheMiddle() {
        try (PointerScope scope = new PointerScope()) {
            Tensor u = TimeSampling.UNIFORM.sample(Rng.of(1), 20000);
            Tensor l = TimeSampling.LOGIT_NORMAL.sample(Rng.of(1), 20000);
            assertThat(fractionInMiddle(Tensors.toFloats(u))).isBetween(0.48, 0.52);
            // P(|n| < logit(0.75)) for n ~ N(0, 1) is 0.727.
            assertThat(fractionInMiddle(Tensors.toFloats(l))).isBetween(0.71, 0.745);
        }
        assertThat(TimeSampling.parse("logit-normal")).isEqualTo(TimeSampling.LOGIT_NORMAL);
        assertThatThrownBy(() -> TimeSampling.parse("beta")).hasMessageContaining("uniform or logit_normal");
    }
}
