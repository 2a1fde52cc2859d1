package org.diffusion4j.run;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.util.List;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import org.bytedeco.javacpp.PointerScope;
import org.diffusion4j.checkpoint.Json;
import org.diffusion4j.checkpoint.Safetensors;
import org.diffusion4j.model.Network;
import org.diffusion4j.model.mlp.MlpConfig;
import org.diffusion4j.model.mlp.MlpNet;
import org.diffusion4j.model.text.TextUNet;
import org.diffusion4j.model.text.TextUNetConfig;
import org.diffusion4j.model.unet.UNetConfig;
import org.diffusion4j.tensor.Memory;
import org.diffusion4j.tensor.Rng;
import org.diffusion4j.testing.SparseSafetensors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

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
                "x.json: unknown model type 'unet9' (known: [dit, mlp, text-unet, unet])");
    }

    @Test
    void aTextUNetConfigBuildsItsNetworkFromTheRecordedJson() {
        try (PointerScope scope = new PointerScope()) {
            TextUNetConfig cfg = TextUNetConfig.of(new long[] {2, 4, 4}, List.of(16, 32), 32, 1,
                    List.of(List.of("a cat"), List.of("a dog")));
            Network n = Models.build("text-unet", Json.toTree(cfg), Rng.of(0), "x.json");
            assertThat(n).isInstanceOf(TextUNet.class);
            assertThat(Models.configOf(n)).isEqualTo(cfg);
        }
    }

    /** Sidecars written before downsample_padding existed (the shipped model's among them) still load. */
    @Test
    void olderUnetConfigsWithoutDownsamplePaddingLoad() {
        var json = (ObjectNode) Json.toTree(
                UNetConfig.small(28, 1, null));
        json.remove("downsample_padding");
        var read = (UNetConfig) Models.config("unet", json, "old.json");
        assertThat(read).isEqualTo(UNetConfig.small(28, 1, null));
        assertThat(json.has("downsample_padding")).as("the caller's tree is not modified").isFalse();
    }

    /** Every tensor group present must be exactly the network's parameters; nothing may sit outside the groups. */
    @Test
    void requireTensorsChecksEachGroupAgainstTheConfig(@TempDir Path dir)
            throws Exception {
        MlpConfig cfg = new MlpConfig(2, 8, 1, 4);
        Map<String, long[]> tensors = new LinkedHashMap<>();
        cfg.parameterShapes().asMap().forEach((k, v) -> tensors.put(TrainingRun.MODEL + k, v));
        Path f = dir.resolve("m.safetensors");
        SparseSafetensors.write(f, tensors);
        var header = Safetensors.readHeader(f);
        Models.requireTensors(cfg.parameterShapes(), header, f, Set.of(TrainingRun.MODEL));
        assertThatThrownBy(() -> Models.requireTensors(cfg.parameterShapes(), header, f,
                Set.of(TrainingRun.MODEL, TrainingRun.EXP_AVG)))
                .hasMessageContaining("missing tensor 'optim.exp_avg.");
        assertThatThrownBy(() -> Models.requireTensors(new MlpConfig(2, 16, 1, 4).parameterShapes(), header, f,
                Set.of(TrainingRun.MODEL))).hasMessageContaining("but the config builds [16");
        tensors.put("stray", new long[] {1});
        SparseSafetensors.write(f, tensors);
        assertThatThrownBy(() -> Models.requireTensors(cfg.parameterShapes(),
                Safetensors.readHeader(f), f, Set.of(TrainingRun.MODEL)))
                .hasMessageContaining("unexpected tensor 'stray'");
    }

    /** The lower bound counts batch x (input, noise, output, widest activations), plus 5 copies of the weights to train. */
    @Test
    void requireFitsRefusesWhatTheLowerBoundShowsCannotFit() {
        MlpConfig cfg = new MlpConfig(2, 8, 1, 4);
        Models.requireFits(cfg, 1000, true, true, "training", "lower --batch-size");
        long perSample = 3L * 4 * 2 + 2 * cfg.activationBytesPerSample();
        long tooMany = 2 * (Memory.available() / perSample); // twice what is free
        assertThatThrownBy(() -> Models.requireFits(cfg, tooMany, true, true, "training", "lower --batch-size"))
                .hasMessageStartingWith("training needs about ").hasMessageEndingWith("; lower --batch-size");
        assertThatThrownBy(() -> Models.requireFits(cfg, Long.MAX_VALUE / 2, false, false, "sampling", null))
                .hasMessageContaining("more than 8 EiB");
    }
}
