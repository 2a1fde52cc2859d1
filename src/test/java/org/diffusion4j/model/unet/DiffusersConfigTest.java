package org.diffusion4j.model.unet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.diffusion4j.checkpoint.Json;
import org.diffusion4j.testing.Fuzzing;
import org.diffusion4j.testing.Shared;
import org.junit.jupiter.api.Test;

class DiffusersConfigTest {
    @Test
    void readsRecordedConfigs() {
        UNetConfig b = DiffusersConfig.read(Shared.read(Shared.diffusers().resolve("unet_b_class/config.json")), "b");
        assertThat(b.blockOutChannels()).containsExactly(16, 16, 16);
        assertThat(b.numClassEmbeds()).isEqualTo(4);
        assertThat(b.flipSinToCos()).isFalse();
        assertThat(b.freqShift()).isEqualTo(1);
        assertThat(b.downBlockTypes()).containsExactly("DownBlock2D", "AttnDownBlock2D", "DownBlock2D");
    }

    @Test
    void unknownOrUnsupportedKeysAreErrorsNamingTheKey() {
        ObjectNode base = (ObjectNode) Shared.read(Shared.diffusers().resolve("unet_a_uncond/config.json"));
        assertThatThrownBy(() -> DiffusersConfig.read(base.deepCopy().put("resnet_time_scale_shift", "scale_shift"), "c.json"))
                .hasMessage("c.json: resnet_time_scale_shift = \"scale_shift\" is not supported");
        assertThatThrownBy(() -> DiffusersConfig.read(base.deepCopy().put("fancy_new_option", 1), "c.json"))
                .hasMessage("c.json: unknown UNet2DModel config key 'fancy_new_option'");
        assertThatThrownBy(() -> DiffusersConfig.read(base.deepCopy().put("_class_name", "UNet2DConditionModel"), "c.json"))
                .hasMessageContaining("expected UNet2DModel");
        assertThatThrownBy(() -> DiffusersConfig.read(base.deepCopy().put("norm_num_groups", 5), "c.json"))
                .hasMessageContaining("multiples of norm_num_groups 5");
        assertThatThrownBy(() -> DiffusersConfig.read(base.deepCopy().put("downsample_padding", 2), "c.json"))
                .hasMessageContaining("c.json: downsample_padding must be 0 or 1, got 2");
    }

    /** The original DDPM checkpoints (google/ddpm-*) use downsample_padding 0; older sidecars omit the key. */
    @Test
    void downsamplePaddingIsReadAndDefaultsToOne() {
        ObjectNode base = (ObjectNode) Shared.read(Shared.diffusers().resolve("unet_a_uncond/config.json"));
        assertThat(DiffusersConfig.read(base.deepCopy().put("downsample_padding", 0), "c.json").downsamplePadding())
                .isZero();
        ObjectNode ours = (ObjectNode) Json.toTree(UNetConfig.small(32, 1, null));
        assertThat(ours.get("downsample_padding").asInt()).isEqualTo(1);
        ours.putNull("downsample_padding");
        assertThat(Json.fromTree(ours, UNetConfig.class, "sidecar").downsamplePadding()).isEqualTo(1);
    }

    @Test
    void ourConfigSerialisesWithDiffusersKeys() {
        UNetConfig c = UNetConfig.small(32, 1, 10);
        ObjectNode json = (ObjectNode) Json.toTree(c);
        assertThat(json.get("block_out_channels").toString()).isEqualTo("[32,64,64]");
        assertThat(DiffusersConfig.read(json, "ours")).isEqualTo(c);
        assertThat(Json.fromTree(json, UNetConfig.class, "ours")).isEqualTo(c);
        assertThatThrownBy(() -> new UNetConfig(30, 1, 1, List.of(32, 64, 64), 1,
                List.of("DownBlock2D", "DownBlock2D", "DownBlock2D"), List.of("UpBlock2D", "UpBlock2D", "UpBlock2D"),
                8, null, true, 0, null, 1e-5, 1)).hasMessageContaining("sample_size 30 must be a positive multiple of 4");
    }

    /**
     * Fuzz target for the diffusers config reader: a config.json is read, turned into a UNetConfig and its parameter
     * list, or refused with an exception naming the file. Nothing else may escape, and nothing may be slow or large.
     */
    public static final class Fuzz {
        public static void fuzzerTestOneInput(byte[] data) {
            Fuzzing.readsConfig(data, (json, source) -> DiffusersConfig.read(json, source).parameterShapes());
        }
    }

    @Test
    void fuzzingFindsNothingButErrorsNamingTheFile() throws Exception {
        Path work = Files.createTempDirectory("d4j-fuzz-diffusers-config");
        Fuzzing.run(Fuzz.class, work, Map.of(
                "a", Files.readAllBytes(Shared.diffusers().resolve("unet_a_uncond/config.json")),
                "b", Files.readAllBytes(Shared.diffusers().resolve("unet_b_class/config.json"))));
    }
}
