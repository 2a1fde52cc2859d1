package org.diffusion4j.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;

class ShapesTest {
    @Test
    void requireAcceptsMatchesAndWildcards() {
        try (PointerScope s = new PointerScope()) {
            Torch.init();
            var t = torch.zeros(4, 2);
            assertThatCode(() -> Shapes.require(t, "x", 4, 2)).doesNotThrowAnyException();
            assertThatCode(() -> Shapes.require(t, "x", Shapes.ANY, 2)).doesNotThrowAnyException();
            assertThat(Shapes.of(t)).containsExactly(4, 2);
            assertThat(Shapes.str(t)).isEqualTo("[4, 2]");
        }
    }

    @Test
    void requireNamesTheArgumentAndBothShapes() {
        try (PointerScope s = new PointerScope()) {
            Torch.init();
            var t = torch.zeros(4, 3);
            assertThatThrownBy(() -> Shapes.require(t, "x_t", Shapes.ANY, 2))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("x_t: expected shape [*, 2] but got [4, 3]");
            assertThatThrownBy(() -> Shapes.requireSame(t, "a", torch.zeros(4, 2), "b"))
                    .hasMessage("a has shape [4, 3] but b has shape [4, 2]");
            assertThatThrownBy(() -> Shapes.requireRankAtLeast(torch.zeros(3), "x", 2))
                    .hasMessageContaining("at least 2 dimensions");
        }
    }

    @Test
    void perSampleBroadcastShape() {
        assertThat(Shapes.perSample(5, 4)).containsExactly(5, 1, 1, 1);
    }
}
