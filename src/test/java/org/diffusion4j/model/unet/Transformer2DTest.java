package org.diffusion4j.model.unet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
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
}
