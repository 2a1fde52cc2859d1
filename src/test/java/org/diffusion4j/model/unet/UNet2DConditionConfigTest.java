package org.diffusion4j.model.unet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.diffusion4j.checkpoint.Json;
import org.diffusion4j.testing.Shared;
import org.junit.jupiter.api.Test;

class UNet2DConditionConfigTest {
    private static JsonNode json(String text) throws Exception {
        return Json.MAPPER.readTree(text);
    }

    @Test
    void readsAPipelinesConfigAndDiffusersDefaults() throws Exception {
        UNet2DConditionConfig a = UNet2DConditionConfig.read(Json.readFile(Shared.sd().resolve("sdpipe_a/unet/config.json")),
                "config.json");
        assertThat(a.blockOutChannels()).containsExactly(16, 32);
        assertThat(a.heads()).containsExactly(2, 2);
        assertThat(a.crossAttnDim()).isEqualTo(32);
        assertThat(a.timeEmbedDim()).isEqualTo(64);
        // Stable Diffusion 1.x's architecture is diffusers' default.
        UNet2DConditionConfig sd = UNet2DConditionConfig.read(json("{}"), "config.json");
        assertThat(sd.blockOutChannels()).containsExactly(320, 640, 1280, 1280);
        assertThat(sd.heads()).containsExactly(8, 8, 8, 8);
        assertThat(sd.crossAttnDim()).isEqualTo(768 + 512);
        assertThat(sd.onlyCross()).containsExactly(false, false, false, false);
        UNet2DConditionConfig sd2 = UNet2DConditionConfig.read(json("{\"attention_head_dim\": [5, 10, 20, 20], "
                + "\"use_linear_projection\": true, \"cross_attention_dim\": 1024}"), "config.json");
        assertThat(sd2.heads()).containsExactly(5, 10, 20, 20);
        assertThat(sd2.linearProj()).isTrue();
    }

    @Test
    void refusesWhatItDoesNotImplementByName() throws Exception {
        assertThatThrownBy(() -> UNet2DConditionConfig.read(json("{\"addition_embed_type\": \"text_time\"}"), "u.json"))
                .hasMessageContaining("u.json: addition_embed_type = \"text_time\" is not supported");
        assertThatThrownBy(() -> UNet2DConditionConfig.read(json("{\"magic\": 1}"), "u.json"))
                .hasMessageContaining("unknown UNet2DConditionModel config key 'magic'");
        assertThatThrownBy(() -> UNet2DConditionConfig.read(json("{\"_class_name\": \"UNet2DModel\"}"), "u.json"))
                .hasMessageContaining("expected UNet2DConditionModel");
        assertThatThrownBy(() -> UNet2DConditionConfig.read(json("{\"attention_head_dim\": 7}"), "u.json"))
                .hasMessageContaining("320 channels do not split into 7 heads");
        assertThatThrownBy(() -> UNet2DConditionConfig.read(json("{\"down_block_types\": [\"AttnDownBlock2D\", "
                + "\"DownBlock2D\", \"DownBlock2D\", \"DownBlock2D\"]}"), "u.json"))
                .hasMessageContaining("unsupported down block type 'AttnDownBlock2D'");
        for (String bad : new String[] {"{\"norm_num_groups\": 0}", "{\"attention_head_dim\": 0}"}) {
            assertThatThrownBy(() -> UNet2DConditionConfig.read(json(bad), "u.json"))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("u.json");
        }
        ObjectNode levels = (ObjectNode) json("{\"block_out_channels\": [32, 64]}");
        assertThatThrownBy(() -> UNet2DConditionConfig.read(levels, "u.json"))
                .hasMessageContaining("one entry per block_out_channels (2)");
    }
}
