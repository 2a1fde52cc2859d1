package org.diffusion4j.pipeline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import org.bytedeco.javacpp.PointerScope;
import org.diffusion4j.checkpoint.Json;
import org.diffusion4j.model.Network;
import org.diffusion4j.model.mlp.MlpConfig;
import org.diffusion4j.model.mlp.MlpNet;
import org.diffusion4j.tensor.Rng;
import org.junit.jupiter.api.Test;

class ModelsTest {
    @Test
    void buildsFromTheRecordedTypeAndConfig() {
        try (PointerScope scope = new PointerScope()) {
            MlpConfig cfg = new MlpConfig(3, 8, 2, 4);
            Network n = Models.build("mlp", Json.toTree(cfg), Rng.of(0), "x.json");
            assertThat(n).isInstanceOf(MlpNet.class);
            assertThat(((MlpNet) n).config()).isEqualTo(cfg);
            assertThat(Models.configOf(n)).isEqualTo(cfg);
            assertThat(cfg.modelType()).isEqualTo("mlp");
        }
    }

    @Test
    void namesTheSourceOnBadInput() {
        JsonNode bad = Json.MAPPER.createObjectNode().put("data_dim", 2);
        assertThatThrownBy(() -> Models.build("mlp", bad, Rng.of(0), "x.json")).hasMessageStartingWith("x.json: model_config");
        assertThatThrownBy(() -> Models.build("unet9", bad, Rng.of(0), "x.json")).hasMessage(
                "x.json: unknown model type 'unet9' (known: [mlp, unet])");
    }
}
