package org.diffusion4j.model.unet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.assertj.core.data.Offset;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.diffusion4j.model.Init;
import org.diffusion4j.tensor.Rng;
import org.diffusion4j.tensor.Shapes;
import org.diffusion4j.tensor.Tensors;
import org.junit.jupiter.api.Test;

class Transformer2DTest {
    @Test
    void aZeroProjectionLeavesTheInputAndTheTextIsRequired() {
        try (PointerScope scope = new PointerScope()) {
            for (boolean linear : new boolean[] {false, true}) {
                // Freshly built, every projection is zero: the block adds nothing to its input.
                Transformer2D t = new Transformer2D(16, 2, 8, 12, linear, false, linear);
                Tensor x = Rng.of(1).randn(2, 16, 4, 4);
                Tensor y = t.forward(x, Rng.of(2).randn(2, 5, 12));
                assertThat(Shapes.of(y)).containsExactly(2, 16, 4, 4);
                assertThat(Tensors.toFloats(y.contiguous())).containsExactly(Tensors.toFloats(x));
                assertThatThrownBy(() -> t.forward(x, null)).hasMessageContaining("needs the text embeddings");
            }
        }
        assertThatThrownBy(() -> new Transformer2D(16, 3, 8, 12, false, false, false))
                .hasMessageContaining("16 channels do not split into 3 heads");
    }

    /**
     * Attention sliced over query rows (a bounded score matrix, for SD at 512x512) gives what the whole score matrix
     * gives, for self- and cross-attention, with and without upcasting, slices dividing the rows or not.
     */
    @Test
    void slicedAttentionEqualsTheWholeScoreMatrix() {
        try (PointerScope scope = new PointerScope(); NoGradGuard guard = new NoGradGuard()) {
            for (boolean upcast : new boolean[] {false, true}) {
                Tensor x = Rng.of(5).randn(2, 37, 16);
                Tensor text = Rng.of(6).randn(2, 7, 12);
                for (Tensor context : new Tensor[] {null, text}) {
                    Transformer2D.CrossAttention a = new Transformer2D.CrossAttention(16, context == null ? 16 : 12, 2,
                            upcast);
                    Init.pytorchDefault(a, Rng.of(4));
                    long keys = context == null ? 37 : 7;
                    float[] whole = Tensors.toFloats(a.forward(x, context, Long.MAX_VALUE).contiguous());
                    for (long rows : new long[] {1, 5, 36}) {
                        float[] sliced = Tensors.toFloats(a.forward(x, context, rows * 2 * 2 * keys).contiguous());
                        assertThat(sliced).hasSize(whole.length);
                        for (int i = 0; i < whole.length; i++) {
                            assertThat(sliced[i]).as("rows %d, index %d", rows, i)
                                    .isCloseTo(whole[i], Offset.offset(1e-5f));
                        }
                    }
                    assertThat(whole).isNotEqualTo(new float[whole.length]);
                }
            }
        }
        assertThat(Transformer2D.CrossAttention.SCORE_BUDGET).isEqualTo(1L << 24);
    }
}
