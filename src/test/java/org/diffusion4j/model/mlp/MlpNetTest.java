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
    void classEmbeddingConditionsTheOutputAndIsRequiredWhenPresent() {
        try (PointerScope scope = new PointerScope()) {
            MlpNet net = new MlpNet(new MlpConfig(2, 16, 1, 8, 3), Rng.of(0));
            Tensor x = Rng.of(1).randn(2, 2);
            Tensor t = Tensors.fromFloats(new float[] {100, 100}, 2);
            Tensor a = net.forward(x, t, Tensors.fromLongs(new long[] {0, 0}, 2));
            Tensor b = net.forward(x, t, Tensors.fromLongs(new long[] {2, 2}, 2));
            assertThat(a.sub(b).abs().max().item_double()).isGreaterThan(1e-4);
            assertThatThrownBy(() -> net.forward(x, t)).hasMessageContaining("class labels are required");
            MlpNet plain = new MlpNet(new MlpConfig(2, 16, 1, 8), Rng.of(0));
            assertThatThrownBy(() -> plain.forward(x, t, Tensors.fromLongs(new long[] {0, 0}, 2)))
                    .hasMessageContaining("no class embedding");
            // An unconditional config builds the same network as before class embeddings existed.
            assertThat(Tensors.toFloats(plain.forward(x, t))).containsExactly(Tensors.toFloats(
                    new MlpNet(new MlpConfig(2, 16, 1, 8, null), Rng.of(0)).forward(x, t)));
        }
    }

    @Test
    void configValidates() {
        assertThatThrownBy(() -> new MlpConfig(0, 8, 1, 8)).hasMessageContaining("data_dim");
        assertThatThrownBy(() -> new MlpConfig(2, 8, -1, 8)).hasMessageContaining("depth");
        assertThatThrownBy(() -> new MlpConfig(2, 8, 1, 1)).hasMessageContaining("time_embed_dim");
        assertThatThrownBy(() -> new MlpConfig(2, 8, 1, 8, 0)).hasMessageContaining("num_class_embeds");
    }
}
