package org.diffusion4j.model.text;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.diffusion4j.checkpoint.Json;
import org.diffusion4j.tensor.Tensors;
import org.diffusion4j.testing.Recorded;
import org.diffusion4j.testing.Shared;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ClipTextModelTest {
    /** The shared README's tolerance for a float32 text encoder: |ours - theirs| / max(1, |theirs|). */
    private static final double TOLERANCE = 1e-4;

    @TempDir
    Path dir;

    private static Tensor ids(JsonNode values, JsonNode shape) {
        long[] v = new long[values.size()];
        for (int i = 0; i < v.length; i++) {
            v[i] = values.get(i).asLong();
        }
        return Tensors.fromLongs(v, shape.get(0).asLong(), shape.get(1).asLong());
    }

    /** Every recorded output of a case, within the shared README's float32 tolerance. */
    private static void matchesTransformers(String file) throws Exception {
        Path sd = Shared.sd();
        JsonNode c = Json.readFile(sd.resolve(file));
        try (PointerScope scope = new PointerScope(); NoGradGuard guard = new NoGradGuard()) {
            ClipTextModel model = ClipTextModel.load(sd.resolve(c.get("model_dir").asText()));
            Tensor input = ids(c.get("input_ids"), c.get("input_ids_shape"));
            ClipTextModel.Output out = model.forward(input, null);
            JsonNode want = c.get("outputs_float32");
            assertThat(Recorded.error(out.lastHiddenState(), want.get("last_hidden_state"))).isLessThan(TOLERANCE);
            assertThat(Recorded.error(out.pooled(), want.get("pooler_output"))).isLessThan(TOLERANCE);
            assertThat(Recorded.error(out.hiddenStates().get(out.hiddenStates().size() - 2), want.get("hidden_states_m2")))
                    .isLessThan(TOLERANCE);
            assertThat(Recorded.error(out.skipped(model, 1), want.get("hidden_states_m2_final_ln"))).isLessThan(TOLERANCE);
            if (want.has("last_hidden_state_masked")) {
                ClipTextModel.Output masked = model.forward(input, ids(c.get("attention_mask"),
                        c.get("input_ids_shape")));
                assertThat(Recorded.error(masked.lastHiddenState(), want.get("last_hidden_state_masked")))
                        .isLessThan(TOLERANCE);
                assertThat(Recorded.error(masked.pooled(), want.get("pooler_output_masked"))).isLessThan(TOLERANCE);
            }
        }
    }

    @Test
    void matchesTransformersWithQuickGeluAndPoolingAtTheLargestId() throws Exception {
        matchesTransformers("te_a_quickgelu_legacy_eos.json");
    }

    @Test
    void matchesTransformersWithGeluPoolingAtTheEndTokenAndAPaddingMask() throws Exception {
        matchesTransformers("te_b_gelu_eos_first.json");
    }

    @Test
    void refusesMissingPickledOrMismatchedFiles() throws Exception {
        assertThatThrownBy(() -> ClipTextModel.load(dir)).hasMessageContaining("config.json")
                .hasMessageContaining("missing");
        Path te = Shared.sd().resolve("sdpipe_a").resolve("text_encoder");
        Files.copy(te.resolve("config.json"), dir.resolve("config.json"));
        Files.writeString(dir.resolve("pytorch_model.bin"), "x");
        assertThatThrownBy(() -> ClipTextModel.load(dir)).hasMessageContaining("pickle");
        Files.writeString(dir.resolve("config.json"), Files.readString(te.resolve("config.json"))
                .replace("\"num_hidden_layers\": 3", "\"num_hidden_layers\": 4"));
        Files.copy(te.resolve("model.safetensors"), dir.resolve("model.safetensors"));
        assertThatThrownBy(() -> ClipTextModel.load(dir)).hasMessageContaining("model.safetensors")
                .hasMessageContaining("layers.3");
        Files.writeString(dir.resolve("config.json"), "{\"hidden_act\": \"relu\"}");
        assertThatThrownBy(() -> ClipTextModel.load(dir)).hasMessageContaining("config.json")
                .hasMessageContaining("hidden_act 'relu'");
    }
}
