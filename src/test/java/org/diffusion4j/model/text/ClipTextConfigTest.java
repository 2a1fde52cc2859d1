package org.diffusion4j.model.text;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.diffusion4j.testing.Shared;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ClipTextConfigTest {
    @TempDir
    Path dir;

    @Test
    void readsATransformersConfigAndItsDefaults() throws Exception {
        ClipTextConfig c = ClipTextConfig.read(Shared.sd().resolve("sdpipe_a/text_encoder/config.json"));
        assertThat(c).isEqualTo(new ClipTextConfig(1000, 32, 37, 3, 4, 77, "quick_gelu", 1e-5, 2));
        assertThat(c.headDim()).isEqualTo(8);
        Path empty = Files.writeString(dir.resolve("config.json"), "{}");
        // transformers' CLIPTextConfig defaults.
        assertThat(ClipTextConfig.read(empty)).isEqualTo(new ClipTextConfig(49408, 512, 2048, 12, 8, 77, "quick_gelu",
                1e-5, 49407));
    }

    @Test
    void refusesConfigsItCannotRun() throws Exception {
        assertThatThrownBy(() -> new ClipTextConfig(10, 30, 8, 1, 4, 77, "gelu", 1e-5, 2))
                .hasMessageContaining("hidden_size 30 does not split into 4 attention heads");
        assertThatThrownBy(() -> new ClipTextConfig(10, 32, 8, 0, 4, 77, "gelu", 1e-5, 2))
                .hasMessageContaining("num_hidden_layers");
        assertThatThrownBy(() -> new ClipTextConfig(10, 32, 8, 1, 4, 77, "gelu", 0, 2))
                .hasMessageContaining("layer_norm_eps");
        Path vision = Files.writeString(dir.resolve("config.json"), "{\"model_type\": \"clip_vision_model\"}");
        assertThatThrownBy(() -> ClipTextConfig.read(vision)).hasMessageContaining("config.json")
                .hasMessageContaining("clip_vision_model");
        Path text = Files.writeString(dir.resolve("config.json"), "{\"hidden_size\": \"big\"}");
        assertThatThrownBy(() -> ClipTextConfig.read(text)).hasMessageContaining("hidden_size must be an integer");
    }
}
