package org.diffusion4j.sampler;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import org.bytedeco.javacpp.PointerScope;
import org.diffusion4j.tensor.DeviceSpec;
import org.diffusion4j.tensor.Rng;
import org.diffusion4j.tensor.Tensors;
import org.junit.jupiter.api.Test;

class NoiseSourceTest {
    @Test
    void perSampleRowsDependOnlyOnSeedAndIndex() {
        try (PointerScope scope = new PointerScope()) {
            NoiseSource whole = NoiseSource.perSample(7, 0, 4);
            NoiseSource tail = NoiseSource.perSample(7, 2, 2);
            // Two successive draws, as a sampler makes: rows 2..3 of the big batch equal the small batch's rows.
            for (int draw = 0; draw < 2; draw++) {
                float[] a = Tensors.toFloats(whole.next(4, 3));
                float[] b = Tensors.toFloats(tail.next(2, 3));
                assertThat(Arrays.copyOfRange(a, 6, 12)).containsExactly(b);
            }
            assertThat(Tensors.toFloats(NoiseSource.perSample(8, 0, 4).next(4, 3)))
                    .isNotEqualTo(Tensors.toFloats(NoiseSource.perSample(7, 0, 4).next(4, 3)));
        }
    }

    @Test
    void perSampleRejectsOtherBatchSizes() {
        NoiseSource n = NoiseSource.perSample(1, 0, 4);
        assertThatThrownBy(() -> n.next(3, 2)).hasMessageContaining("4 rows");
        assertThatThrownBy(() -> NoiseSource.perSample(1, 0, 0)).hasMessageContaining("rows must be >= 1");
    }

    /** The per-row generator form used on GPUs, exercised here with CPU generators. */
    @Test
    void perSampleGeneratorsRowsDependOnlyOnSeedAndIndex() {
        try (PointerScope scope = new PointerScope()) {
            DeviceSpec cpu = DeviceSpec.CPU;
            NoiseSource whole = NoiseSource.perSampleGenerators(7, 0, 4, cpu);
            NoiseSource tail = NoiseSource.perSampleGenerators(7, 2, 2, cpu);
            float[] first = null;
            for (int draw = 0; draw < 2; draw++) {
                float[] a = Tensors.toFloats(whole.next(4, 3));
                float[] b = Tensors.toFloats(tail.next(2, 3));
                assertThat(Arrays.copyOfRange(a, 6, 12)).containsExactly(b);
                assertThat(Arrays.copyOfRange(a, 0, 3)).isNotEqualTo(Arrays.copyOfRange(a, 3, 6));
                if (first == null) {
                    first = a;
                } else {
                    assertThat(a).as("a second draw continues each stream").isNotEqualTo(first);
                }
            }
            // Row i is torch.randn from a generator seeded with derive(seed, i).
            assertThat(Tensors.toFloats(NoiseSource.perSampleGenerators(7, 0, 1, cpu).next(1, 5)))
                    .containsExactly(Tensors.toFloats(Rng.derive(7, 0).randn(1, 5)));
            assertThatThrownBy(() -> whole.next(3, 3)).hasMessageContaining("4 rows");
            // On the CPU, perSample keeps its platform-independent streams.
            assertThat(Tensors.toFloats(NoiseSource.perSample(7, 0, 4, cpu).next(4, 3)))
                    .containsExactly(Tensors.toFloats(NoiseSource.perSample(7, 0, 4).next(4, 3)));
        }
    }
}
