package org.diffusion4j.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;

class TensorsTest {
    @Test
    void roundTripsFloatsAndDoubles() {
        try (PointerScope s = new PointerScope()) {
            Torch.init();
            float[] f = {1.5f, -2f, 3.25f, 0f, 7f, 8f};
            var t = Tensors.fromFloats(f, 2, 3);
            assertThat(Shapes.of(t)).containsExactly(2, 3);
            assertThat(Tensors.toFloats(t)).containsExactly(f);
            double[] d = {Math.PI, -1e-300, 42};
            assertThat(Tensors.toDoubles(Tensors.fromDoubles(d, 3))).containsExactly(d);
            // Non-contiguous views are read in logical order.
            assertThat(Tensors.toFloats(t.t())).containsExactly(1.5f, 0f, -2f, 7f, 3.25f, 8f);
        }
    }

    @Test
    void rejectsShapeCountMismatch() {
        assertThatThrownBy(() -> Tensors.fromFloats(new float[5], 2, 3)).hasMessageContaining("needs 6 values but got 5");
    }

    @Test
    void allFiniteSeesNanAndInf() {
        try (PointerScope s = new PointerScope()) {
            Torch.init();
            assertThat(Tensors.allFinite(torch.ones(3))).isTrue();
            assertThat(Tensors.allFinite(Tensors.fromFloats(new float[] {1, Float.NaN}, 2))).isFalse();
            assertThat(Tensors.allFinite(Tensors.fromFloats(new float[] {Float.POSITIVE_INFINITY}, 1))).isFalse();
        }
    }

    @Test
    void rowsSliceABatchOrRepeatTheOnlyRow() {
        try (PointerScope scope = new PointerScope()) {
            var t = Tensors.fromFloats(new float[] {1, 2, 3, 4, 5, 6}, 3, 2);
            assertThat(Tensors.toFloats(Tensors.rows(t, 1, 2))).containsExactly(3, 4, 5, 6);
            var one = Tensors.fromFloats(new float[] {7, 8}, 1, 2);
            var repeated = Tensors.rows(one, 5, 3);
            assertThat(Shapes.of(repeated)).containsExactly(3, 2);
            assertThat(Tensors.toFloats(repeated)).containsExactly(7, 8, 7, 8, 7, 8);
        }
    }

    @Test
    void aMaskIsBinaryFromHalfUp() {
        try (PointerScope scope = new PointerScope()) {
            var m = Tensors.binaryMask(Tensors.fromFloats(new float[] {0, 0.49f, 0.5f, 1}, 4));
            assertThat(Tensors.toFloats(m)).containsExactly(0, 0, 1, 1);
        }
    }
}
