package org.diffusion4j.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.diffusion4j.tensor.Rng;
import org.diffusion4j.tensor.Tensors;
import org.junit.jupiter.api.Test;

class PairedDataTest {
    @Test
    void batchesKeepEachSampleWithItsNoise() {
        try (PointerScope scope = new PointerScope()) {
            Tensor x = Tensors.fromFloats(new float[] {0, 0, 1, 1, 2, 2, 3, 3}, 4, 2);
            Tensor z = x.mul(Tensors.scalar(-10));
            PairedData d = new PairedData(x, z, "swiss-roll");
            DataSource.Batch b = d.labeledBatch(0, 50, Rng.of(1));
            float[] bx = Tensors.toFloats(b.x());
            float[] bz = Tensors.toFloats(b.noise());
            for (int i = 0; i < bx.length; i++) {
                assertThat(bz[i]).isEqualTo(-10 * bx[i]);
            }
            assertThat(d.sampleShape()).containsExactly(2);
            assertThatThrownBy(() -> new PairedData(x, Tensors.fromFloats(new float[4], 4, 1), "x"))
                    .hasMessageContaining("noise");
        }
    }
}
