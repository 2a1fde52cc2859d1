package org.diffusion4j.diffusers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.diffusion4j.testing.Shared;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StableDiffusionTest {
    @TempDir
    Path dir;

    /** Text-to-image from the recorded starting latents: the decoded image as diffusers made it, guided or not. */
    @Test
    void recordedTextToImageRunsComeOutAsDiffusersMadeThem() throws Exception {
        List<Path> cases;
        try (Stream<Path> files = Files.list(Shared.sd())) {
            cases = files.filter(f -> f.getFileName().toString().matches("pipe_a[12]_.*\\.json")).sorted().toList();
        }
        assertThat(cases).isNotEmpty();
        for (Path c : cases) {
            Conformance.Result r = Conformance.run(c);
            assertThat(r.passed()).as(c + ": " + r.detail()).isTrue();
            assertThat(r.error()).as(c.toString()).isLessThan(1e-5);
        }
    }

    @Test
    void refusesAFolderThatIsNotAStableDiffusionPipeline() throws Exception {
        Files.writeString(dir.resolve("model_index.json"), "{\"_class_name\": \"DDPMPipeline\"}");
        assertThatThrownBy(() -> StableDiffusion.load(dir)).hasMessageContaining("model_index.json")
                .hasMessageContaining("'DDPMPipeline' is not StableDiffusionPipeline");
    }
}
