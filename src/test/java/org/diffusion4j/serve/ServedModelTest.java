package org.diffusion4j.serve;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import org.diffusion4j.cli.Main;
import org.diffusion4j.sampling.SamplerSpec;
import org.diffusion4j.tensor.DeviceSpec;
import org.diffusion4j.testing.Shared;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ServedModelTest {
    @TempDir
    Path dir;

    @Test
    void namesAnImageModelByItsFileAndDescribesIt() throws Exception {
        ServedModel m = ServedModel.load(Path.of("models/mnist-unet.safetensors"));
        assertThat(m.name()).isEqualTo("mnist-unet");
        assertThat(m.imageShape()).containsExactly(1, 28, 28);
        assertThat(m.defaultSampler()).isEqualTo(SamplerSpec.Kind.DPMPP_3M_SDE);
        assertThat(m.defaultSteps()).isEqualTo(30);
        var d = m.describe();
        assertThat(d.get("data").asText()).isEqualTo("mnist");
        assertThat(d.get("prediction").asText()).isEqualTo("flow");
        assertThat(d.get("flow_matching").asBoolean()).isTrue();
        assertThat(d.get("samplers").toString()).contains("dpm++2m", "euler-a");
    }

    @Test
    void servesADiffusersFolderUnderItsName() throws Exception {
        Path folder = Shared.diffusers().resolve("unet_a_uncond").resolve("save_pretrained");
        ServedModel m = ServedModel.loadDiffusers(folder, DeviceSpec.CPU);
        assertThat(m.name()).isEqualTo("save_pretrained");
        assertThat(m.classes()).isZero();
        var d = m.describe();
        assertThat(d.get("prediction").asText()).isEqualTo("epsilon");
        assertThat(d.get("flow_matching").asBoolean()).isFalse();
        assertThat(d.get("training_timesteps").asInt()).isEqualTo(1000);
        assertThat(d.get("data").asText()).startsWith("diffusers:");
    }

    @Test
    void servesADiTPipelineSampledByClass() throws Exception {
        ServedModel m = ServedModel.loadDiffusers(Shared.dit().resolve("ditpipe_a"), DeviceSpec.CPU);
        assertThat(m.name()).isEqualTo("ditpipe_a");
        assertThat(m.takesPrompts()).isFalse();
        assertThat(m.classes()).isEqualTo(1000);
        assertThat(m.imageShape()).containsExactly(3, 16, 16);
        var d = m.describe();
        assertThat(d.get("latent").asBoolean()).isTrue();
        assertThat(d.get("prediction").asText()).isEqualTo("epsilon");
        assertThatThrownBy(() -> ServedModel.loadDiffusers(Shared.dit().resolve("ditpipe_a"), DeviceSpec.parse(
                "cuda", "--device"))).hasMessageContaining("served on the CPU");
    }

    @Test
    void refusesModelsWithoutPictures() {
        Path ck = dir.resolve("moons.safetensors");
        assertThat(Main.run("train", "--data", "two-moons", "--steps", "2", "--out", ck.toString())).isZero();
        assertThatThrownBy(() -> ServedModel.load(ck)).hasMessageContaining("moons.safetensors")
                .hasMessageContaining("serve shows images");
    }
}
