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

    /** Every tensor group present must be exactly the network's parameters; nothing may sit outside the groups. */
    @Test
    void requireTensorsChecksEachGroupAgainstTheConfig(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws Exception {
        MlpConfig cfg = new MlpConfig(2, 8, 1, 4);
        java.util.Map<String, long[]> tensors = new java.util.LinkedHashMap<>();
        cfg.parameterShapes().asMap().forEach((k, v) -> tensors.put(TrainingRun.MODEL + k, v));
        java.nio.file.Path f = dir.resolve("m.safetensors");
        org.diffusion4j.testing.SparseSafetensors.write(f, tensors);
        var header = org.diffusion4j.checkpoint.Safetensors.readHeader(f);
        Models.requireTensors(cfg.parameterShapes(), header, f, java.util.Set.of(TrainingRun.MODEL));
        assertThatThrownBy(() -> Models.requireTensors(cfg.parameterShapes(), header, f,
                java.util.Set.of(TrainingRun.MODEL, TrainingRun.EXP_AVG)))
                .hasMessageContaining("missing tensor 'optim.exp_avg.");
        assertThatThrownBy(() -> Models.requireTensors(new MlpConfig(2, 16, 1, 4).parameterShapes(), header, f,
                java.util.Set.of(TrainingRun.MODEL))).hasMessageContaining("but the config builds [16");
        tensors.put("stray", new long[] {1});
        org.diffusion4j.testing.SparseSafetensors.write(f, tensors);
        assertThatThrownBy(() -> Models.requireTensors(cfg.parameterShapes(),
                org.diffusion4j.checkpoint.Safetensors.readHeader(f), f, java.util.Set.of(TrainingRun.MODEL)))
                .hasMessageContaining("unexpected tensor 'stray'");
    }

    /** The lower bound counts batch x (input, noise, output, widest activations), plus 5 copies of the weights to train. */
    @Test
    void requireFitsRefusesWhatTheLowerBoundShowsCannotFit() {
        MlpConfig cfg = new MlpConfig(2, 8, 1, 4);
        Models.requireFits(cfg, 1000, true, true, "training", "lower --batch-size");
        long perSample = 3L * 4 * 2 + 2 * cfg.activationBytesPerSample();
        long tooMany = 2 * (org.diffusion4j.tensor.Memory.available() / perSample); // twice what is free
        assertThatThrownBy(() -> Models.requireFits(cfg, tooMany, true, true, "training", "lower --batch-size"))
                .hasMessageStartingWith("training needs about ").hasMessageEndingWith("; lower --batch-size");
        assertThatThrownBy(() -> Models.requireFits(cfg, Long.MAX_VALUE / 2, false, false, "sampling", null))
                .hasMessageContaining("more than 8 EiB");
    }
}
