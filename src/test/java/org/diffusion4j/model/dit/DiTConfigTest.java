package org.diffusion4j.model.dit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.diffusion4j.checkpoint.Json;
import org.diffusion4j.model.Parameters;
import org.diffusion4j.run.Models;
import org.diffusion4j.tensor.Rng;
import org.diffusion4j.testing.Fuzzing;
import org.diffusion4j.testing.Shared;
import org.junit.jupiter.api.Test;

class DiTConfigTest {
    private static JsonNode shared(String folder) throws IOException {
        return Json.readFile(Shared.dit().resolve(folder).resolve("config.json"));
    }

    @Test
    void readsDiffusersConfigsWithTheirFieldNames() throws IOException {
        DiTConfig c = DiTConfig.read(shared("dit_a_learned_sigma"), "config.json");
        assertThat(c).isEqualTo(new DiTConfig(8, 2, 4, 8, 2, 2, 8, 10, 1e-5));
        assertThat(c.width()).isEqualTo(16);
        assertThat(c.grid()).isEqualTo(4);
        assertThat(c.learnedSigma()).isTrue();
        assertThat(c.numClassEmbeds()).isEqualTo(11);
        assertThat(DiTConfig.read(shared("dit_b_eps"), "config.json").learnedSigma()).isFalse();
    }

    @Test
    void aMissingKeyTakesDiffusersDefault() {
        DiTConfig c = DiTConfig.read(Json.MAPPER.createObjectNode().put("sample_size", 8).put("num_layers", 1)
                .put("num_attention_heads", 2).put("attention_head_dim", 4), "c.json");
        assertThat(c.patchSize()).isEqualTo(2);
        assertThat(c.inChannels()).isEqualTo(4);
        assertThat(c.outChannels()).isEqualTo(4);
        assertThat(c.numEmbedsAdaNorm()).isEqualTo(1000);
    }

    @Test
    void unknownKeysAndUnsupportedValuesAreErrorsNamingTheKey() throws IOException {
        ObjectNode unknown = ((ObjectNode) shared("dit_b_eps").deepCopy()).put("use_magic", true);
        assertThatThrownBy(() -> DiTConfig.read(unknown, "t/config.json"))
                .hasMessageContaining("t/config.json").hasMessageContaining("'use_magic'");
        ObjectNode norm = ((ObjectNode) shared("dit_b_eps").deepCopy()).put("norm_type", "ada_norm_single");
        assertThatThrownBy(() -> DiTConfig.read(norm, "t/config.json")).hasMessageContaining("norm_type");
        ObjectNode act = ((ObjectNode) shared("dit_b_eps").deepCopy()).put("activation_fn", "geglu");
        assertThatThrownBy(() -> DiTConfig.read(act, "t/config.json")).hasMessageContaining("activation_fn");
        ObjectNode cls = ((ObjectNode) shared("dit_b_eps").deepCopy()).put("_class_name", "UNet2DModel");
        assertThatThrownBy(() -> DiTConfig.read(cls, "t/config.json")).hasMessageContaining("DiTTransformer2DModel");
    }

    @Test
    void refusesShapesTheArchitectureCannotTake() {
        assertThatThrownBy(() -> new DiTConfig(8, 3, 4, 4, 1, 2, 8, 10, 1e-5)).hasMessageContaining("patch_size");
        assertThatThrownBy(() -> new DiTConfig(8, 2, 4, 6, 1, 2, 8, 10, 1e-5)).hasMessageContaining("out_channels");
        assertThatThrownBy(() -> new DiTConfig(8, 2, 4, 4, 1, 3, 3, 10, 1e-5)).hasMessageContaining("multiple of 4");
        assertThatThrownBy(() -> new DiTConfig(8, 2, 4, 4, 0, 2, 8, 10, 1e-5)).hasMessageContaining("num_layers");
        assertThatThrownBy(() -> new DiTConfig(8, 2, 4, 4, 1, 2, 8, -1, 1e-5))
                .hasMessageContaining("num_embeds_ada_norm");
        assertThatThrownBy(() -> new DiTConfig(8, 2, 4, 4, 1, 2, 8, 10, 0)).hasMessageContaining("norm_eps");
        assertThatThrownBy(() -> DiTConfig.of(new long[] {1, 28, 28}, 4, 6, 130, 4, 10))
                .hasMessageContaining("--heads");
        assertThatThrownBy(() -> DiTConfig.of(new long[] {2}, 4, 6, 128, 4, 10)).hasMessageContaining("square images");
    }

    @Test
    void parameterShapesAreThoseTheNetworkBuilds() {
        for (DiTConfig c : new DiTConfig[] {new DiTConfig(8, 2, 4, 8, 2, 2, 8, 10, 1e-5),
                DiTConfig.of(new long[] {1, 28, 28}, 4, 3, 32, 2, 0)}) {
            try (PointerScope scope = new PointerScope()) {
                Map<String, Tensor> built = Parameters.named(new DiTTransformer2DModel(c));
                Map<String, long[]> shapes = c.parameterShapes().asMap();
                assertThat(shapes.keySet()).containsExactlyElementsOf(built.keySet());
                built.forEach((name, t) -> assertThat(shapes.get(name)).as(name).containsExactly(t.sizes().vec().get()));
            }
        }
    }

    @Test
    void anUnconditionalModelHasOnlyTheNoClassRowAndTakesNoLabels() {
        DiTConfig c = DiTConfig.of(new long[] {1, 8, 8}, 2, 1, 16, 2, 0);
        assertThat(c.numClassEmbeds()).isNull();
        assertThat(c.parameterShapes().asMap().get("transformer_blocks.0.norm1.emb.class_embedder.embedding_table"
                + ".weight")).containsExactly(1, 16);
    }

    @Test
    void roundTripsThroughTheCheckpointSidecarAsTypeDit() {
        DiTConfig c = DiTConfig.of(new long[] {1, 28, 28}, 4, 6, 128, 4, 10);
        assertThat(c.modelType()).isEqualTo("dit");
        assertThat(Models.config("dit", Json.toTree(c), "sidecar")).isEqualTo(c);
        try (PointerScope scope = new PointerScope()) {
            assertThat(Models.configOf(Models.build("dit", Json.toTree(c), Rng.of(0), "sidecar"))).isEqualTo(c);
        }
        ObjectNode extra = ((ObjectNode) Json.toTree(c)).put("depth", 3);
        assertThatThrownBy(() -> Models.config("dit", extra, "sidecar")).hasMessageContaining("depth");
    }

    /**
     * Fuzz target for the transformer config reader: a config.json is read into a DiTConfig and its parameter list,
     * or refused with an exception naming the file. Nothing else may escape, and nothing may be slow or large.
     */
    public static final class Fuzz {
        public static void fuzzerTestOneInput(byte[] data) {
            Fuzzing.readsConfig(data, (json, source) -> DiTConfig.read(json, source).parameterShapes());
        }
    }

    @Test
    void fuzzingFindsNothingButErrorsNamingTheFile() throws Exception {
        Path work = Files.createTempDirectory("d4j-fuzz-dit-config");
        Fuzzing.run(Fuzz.class, work, Map.of(
                "a", Files.readAllBytes(Shared.dit().resolve("dit_a_learned_sigma/config.json")),
                "b", Files.readAllBytes(Shared.dit().resolve("ditpipe_a/transformer/config.json"))));
    }
}
