package org.diffusion4j.run;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.diffusion4j.data.Captions;
import org.diffusion4j.diffusers.PipelineExport;
import org.diffusion4j.diffusers.StableDiffusion;
import org.diffusion4j.model.Parameterization;
import org.diffusion4j.model.autoencoder.AutoencoderConfig;
import org.diffusion4j.model.text.TextUNetConfig;
import org.diffusion4j.schedule.ScheduleConfig;
import org.diffusion4j.tensor.Rng;
import org.diffusion4j.tensor.Shapes;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PromptAccuracyTest {
    @TempDir
    Path dir;

    @Test
    void everyCaptionOfEveryClassIsAskedForAndScoredAgainstItsClass() throws Exception {
        try (PointerScope scope = new PointerScope()) {
            Captions captions = new Captions(List.of(List.of("a horizontal bar", "a flat bar"),
                    List.of("a vertical bar")));
            Path out = dir.resolve("pipe");
            PipelineExport.write(out, TextUNetConfig.of(new long[] {2, 4, 4}, List.of(16, 32), 32, 1,
                    captions.perClass()).build(Rng.of(0)), AutoencoderConfig.of(8, 1, List.of(8, 16), 2)
                    .build(Rng.of(1)), 1, ScheduleConfig.ddpmDefault(), Parameterization.EPS);
            StableDiffusion sd = StableDiffusion.load(out);
            List<Long> batches = new ArrayList<>();
            // A judge that always sees class 0: class 0 is always right, class 1 never.
            PromptAccuracy.Result r = PromptAccuracy.measure(sd, captions, 2, 3, 3, 0, images -> {
                assertThat(Shapes.of(images)).containsExactly(images.size(0), 1, 8, 8);
                batches.add(images.size(0));
                return new long[(int) images.size(0)];
            });
            assertThat(batches).containsExactly(2L, 1L, 3L);
            assertThat(r.accuracy()).isEqualTo(0.5);
            assertThat(r.perClass()).containsExactly(1.0, 0.0);
            assertThat(r.perCaption().get(0)).containsExactly(1.0, 1.0);
            assertThat(r.samples()).isEqualTo(6);
            assertThatThrownBy(() -> PromptAccuracy.measure(sd, captions, 2, 3, 0, 0, images -> new long[0]))
                    .hasMessageContaining("--per-class");
        }
    }
}
