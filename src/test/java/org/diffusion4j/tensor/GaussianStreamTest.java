package org.diffusion4j.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

class GaussianStreamTest {
    @Test
    void isStandardNormal() {
        GaussianStream g = new GaussianStream(1, 2);
        int n = 200_000;
        double sum = 0;
        double sq = 0;
        double fourth = 0;
        for (int i = 0; i < n; i++) {
            double v = g.next();
            sum += v;
            sq += v * v;
            fourth += v * v * v * v;
        }
        assertThat(sum / n).isCloseTo(0, within(0.01));
        assertThat(sq / n).isCloseTo(1, within(0.01));
        assertThat(fourth / n).isCloseTo(3, within(0.06));
    }

    @Test
    void isDeterministicPerKeyAndDistinctAcrossKeys() {
        float[] a = new float[64];
        float[] b = new float[64];
        float[] c = new float[64];
        new GaussianStream(5, 0).fill(a, 0, 64);
        new GaussianStream(5, 0).fill(b, 0, 64);
        new GaussianStream(5, 1).fill(c, 0, 64);
        assertThat(a).containsExactly(b);
        assertThat(a).isNotEqualTo(c);
    }
}
