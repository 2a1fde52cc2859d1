package org.diffusion4j.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.bytedeco.javacpp.PointerScope;
import org.diffusion4j.tensor.Rng;
import org.diffusion4j.tensor.Shapes;
import org.diffusion4j.tensor.Tensors;
import org.junit.jupiter.api.Test;

class WaveformsTest {
    /** Sign changes along a signal: a sine of k periods over the window crosses zero about 2k times. */
    private static int crossings(float[] x, int row) {
        int c = 0;
        for (int j = 1; j < Waveforms.LENGTH; j++) {
            if (Math.signum(x[row * Waveforms.LENGTH + j]) != Math.signum(x[row * Waveforms.LENGTH + j - 1])) {
                c++;
            }
        }
        return c;
    }

    @Test
    void signalsHaveTheirClassesPeriodsAndAreSeeded() {
        try (PointerScope scope = new PointerScope()) {
            DataSource.Batch b = Waveforms.INSTANCE.labeledSample(300, Rng.of(1));
            assertThat(Shapes.of(b.x())).containsExactly(300, Waveforms.LENGTH);
            float[] x = Tensors.toFloats(b.x());
            long[] l = new long[300];
            b.labels().contiguous().data_ptr_long().get(l);
            int[] seen = new int[3];
            for (int i = 0; i < 300; i++) {
                seen[(int) l[i]]++;
                // Noise may add a crossing or two near zero; the periods dominate.
                assertThat(crossings(x, i)).as("signal %d of class %d", i, l[i]).isBetween((int) (2 * (l[i] + 1)) - 1,
                        (int) (2 * (l[i] + 1)) + 3);
            }
            for (int c : seen) {
                assertThat(c).isGreaterThan(70);
            }
            assertThat(x).containsExactly(Tensors.toFloats(Waveforms.INSTANCE.sample(300, Rng.of(1))));
            float[] two = Tensors.toFloats(Waveforms.INSTANCE.sampleClass(20, 2, Rng.of(2)));
            for (int i = 0; i < 20; i++) {
                assertThat(crossings(two, i)).isBetween(5, 9);
            }
            assertThat(Waveforms.INSTANCE.numClasses()).isEqualTo(3);
            assertThatThrownBy(() -> Waveforms.INSTANCE.sampleClass(2, 3, Rng.of(1))).hasMessageContaining("class 3");
        }
    }
}
