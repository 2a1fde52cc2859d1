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

    /** Sidecars written before downsample_padding existed (the shipped model's among them) still load. */
    @Test
    void olderUnetConfigsWithoutDownsamplePaddingLoad() {
        var json = (com.fasterxml.jackson.databind.node.ObjectNode) Json.toTree(
                org.diffusion4j.model.unet.UNetConfig.small(28, 1, null));
        json.remove("downsample_padding");
        var read = (org.diffusion4j.model.unet.UNetConfig) Models.config("unet", json, "old.json");
        assertThat(read).isEqualTo(org.diffusion4j.model.unet.UNetConfig.small(28, 1, null));
        assertThat(json.has("downsample_padding")).as("the caller's tree is not modified").isFalse();
    }
}
