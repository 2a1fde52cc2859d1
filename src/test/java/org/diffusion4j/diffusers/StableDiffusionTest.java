package org.diffusion4j.diffusers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.diffusion4j.testing.Recorded;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StableDiffusionTest {
    @TempDir
    Path dir;

    /** Text-to-image from the recorded starting latents: the decoded image as diffusers made it, guided or not. */
    @Test
    void recordedTextToImageRunsComeOutAsDiffusersMadeThem() throws Exception {
        Recorded.requireSdCasesPass("pipe_a[12]_.*\\.json", 1, 1e-5);
    }

    @Test
    void refusesAFolderThatIsNotAStableDiffusionPipeline() throws Exception {
        Files.writeString(dir.resolve("model_index.json"), "{\"_class_name\": \"DDPMPipeline\"}");
        assertThatThrownBy(() -> StableDiffusion.load(dir)).hasMessageContaining("model_index.json")
                .hasMessageContaining("'DDPMPipeline' is not StableDiffusionPipeline");
    }
}
