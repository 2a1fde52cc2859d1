package org.diffusion4j.model.mlp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.diffusion4j.tensor.Rng;
import org.diffusion4j.tensor.Shapes;
import org.diffusion4j.tensor.Tensors;
import org.junit.jupiter.api.Test;

class MlpNetTest {
    @Test
    void mapsAnyDimensionAndDependsOnTime() {
        try (PointerScope scope = new PointerScope()) {
            MlpNet net = new MlpNet(new MlpConfig(5, 16, 2, 8), Rng.of(0));
            Tensor x = Rng.of(1).randn(3, 5);
            Tensor early = net.forward(x, Tensors.fromFloats(new float[] {1, 1, 1}, 3));
            Tensor late = net.forward(x, Tensors.fromFloats(new float[] {900, 900, 900}, 3));
            assertThat(Shapes.of(early)).containsExactly(3, 5);
            assertThat(early.sub(late).abs().max().item_double()).isGreaterThan(1e-4);
        }
    }

    @Test
    void rejectsWrongInputs() {
        try (PointerScope scope = new PointerScope()) {
            MlpNet net = new MlpNet(MlpConfig.toy2d(), Rng.of(0));
            assertThatThrownBy(() -> net.forward(Rng.of(1).randn(3, 4), Rng.of(1).rand(3))).hasMessageContaining("x:");
            assertThatThrownBy(() -> net.forward(Rng.of(1).randn(3, 2), Rng.of(1).rand(2))).hasMessageContaining("t:");
        }
    }

    @Test
    void configValidates() {
        assertThatThrownBy(() -> new MlpConfig(0, 8, 1, 8)).hasMessageContaining("data_dim");
        assertThatThrownBy(() -> new MlpConfig(2, 8, -1, 8)).hasMessageContaining("depth");
        assertThatThrownBy(() -> new MlpConfig(2, 8, 1, 1)).hasMessageContaining("time_embed_dim");
    }
}
