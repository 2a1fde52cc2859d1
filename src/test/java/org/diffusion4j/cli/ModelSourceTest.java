package org.diffusion4j.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.diffusion4j.sampling.SamplableModel;
import org.diffusion4j.tensor.DeviceSpec;
import org.diffusion4j.testing.Shared;
import org.junit.jupiter.api.Test;

class ModelSourceTest {
    @Test
    void takesExactlyOneSourceAndNamesTheFilesItReads() throws Exception {
        assertThatThrownBy(() -> new ModelSource(null, null, true, DeviceSpec.CPU)).hasMessageContaining("not both");
        assertThatThrownBy(() -> new ModelSource(Path.of("a.safetensors"), Path.of("d"), true, DeviceSpec.CPU))
                .hasMessageContaining("not both");
        assertThat(ModelSource.checkpoint(Path.of("m.safetensors"), DeviceSpec.CPU).inputs())
                .containsExactly(Path.of("m.safetensors"), Path.of("m.json"));
        assertThatThrownBy(() -> ModelSource.checkpoint(Path.of("m.ckpt"), DeviceSpec.CPU).inputs())
                .hasMessageContaining("m.ckpt");
    }

    @Test
    void loadsCheckpointsAndDiffusersFoldersAsSamplableModels() throws Exception {
        SamplableModel shipped = ModelSource.checkpoint(Path.of("models/mnist-unet.safetensors"), DeviceSpec.CPU)
                .load(System.out);
        assertThat(shipped.outputData()).isEqualTo("mnist");
        assertThat(shipped.usedEma()).isTrue();
        Path folder = Shared.diffusers().resolve("unet_a_uncond").resolve("save_pretrained");
        ByteArrayOutputStream text = new ByteArrayOutputStream();
        SamplableModel m = new ModelSource(null, folder, true, DeviceSpec.CPU).load(new PrintStream(text, true,
                StandardCharsets.UTF_8));
        assertThat(m.sampleShape()).hasSize(3);
        assertThat(m.numClasses()).isZero();
        assertThat(m.usedEma()).isFalse();
        assertThat(text.toString(StandardCharsets.UTF_8)).contains("diffusers model " + folder, "epsilon prediction", "1000 training steps");
    }

    /** A DiTPipeline folder samples through the same jobs: class-conditional latents the VAE decodes. */
    @Test
    void loadsADiTPipelineAsAClassConditionalLatentModel() throws Exception {
        Path folder = Shared.dit().resolve("ditpipe_a");
        ModelSource source = new ModelSource(null, folder, true, DeviceSpec.CPU);
        assertThat(source.inputs()).contains(folder.resolve("transformer/diffusion_pytorch_model.safetensors"));
        ByteArrayOutputStream text = new ByteArrayOutputStream();
        SamplableModel m = source.load(new PrintStream(text, true, StandardCharsets.UTF_8));
        assertThat(m.numClasses()).isEqualTo(1000);
        assertThat(m.isLatent()).isTrue();
        assertThat(m.sampleShape()).containsExactly(4, 8, 8);
        assertThat(m.outputShape()).containsExactly(3, 16, 16);
        assertThat(text.toString(StandardCharsets.UTF_8)).contains("diffusers DiT pipeline", "1000 classes");
        Path png = Path.of(System.getProperty("java.io.tmpdir"), "d4j-dit-sample-" + ProcessHandle.current().pid()
                + ".png");
        MainTest.Run r = MainTest.run("sample", "--diffusers", folder.toString(), "--class", "3", "--guidance", "4",
                "--n", "2", "--overwrite", "--out", png.toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("class 3, guidance 4.0");
        assertThat(png).isNotEmptyFile();
        java.nio.file.Files.delete(png);
    }
}
