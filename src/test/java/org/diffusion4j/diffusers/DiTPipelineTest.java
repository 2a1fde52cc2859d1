package org.diffusion4j.diffusers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.diffusion4j.checkpoint.Json;
import org.diffusion4j.sampler.DdpmSampler;
import org.diffusion4j.sampler.StepListener;
import org.diffusion4j.sampling.SamplerSpec;
import org.diffusion4j.schedule.TimestepSpacing;
import org.diffusion4j.tensor.Tensors;
import org.diffusion4j.testing.Shared;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DiTPipelineTest {
    private static final Path PIPELINE = Shared.dit().resolve("ditpipe_a");

    @TempDir
    Path dir;

    private static DiTPipeline.Request request(List<Integer> labels, double guidance, int n, int guided) {
        return new DiTPipeline.Request(labels, guidance, 4, n, 7, 2, false, guided);
    }

    private static double maxAbs(Tensor a, Tensor b) {
        return a.sub(b).abs().max().item_double();
    }

    @Test
    void loadsTheFolderAndDrawsRepeatableImagesPerSeedAndIndex() throws Exception {
        DiTPipeline p = DiTPipeline.load(PIPELINE);
        assertThat(p.classes()).isEqualTo(1000);
        assertThat(p.imageSize()).isEqualTo(16);
        assertThat(DiTPipeline.isDiT(PIPELINE)).isTrue();
        assertThat(DiTPipeline.isDiT(Shared.sd().resolve("sdpipe_a"))).isFalse();
        try (PointerScope scope = new PointerScope()) {
            Tensor a = p.generate(request(List.of(1, 3, 5), 4, 3, 0), null, null, StepListener.NONE);
            assertThat(a.sizes().vec().get()).containsExactly(3, 3, 16, 16);
            Tensor b = p.generate(request(List.of(1, 3, 5), 4, 3, 0), null, null, StepListener.NONE);
            assertThat(maxAbs(a, b)).isEqualTo(0.0);
            // Image 2 depends only on (seed, 2) and its class, not on the batch around it.
            Tensor alone = new DiTPipeline(p.transformer(), p.vae(), p.schedulerClass(), p.schedulerConfig())
                    .generate(new DiTPipeline.Request(List.of(1, 3, 5), 4, 4, 3, 7, 1, false, 0), null, null,
                            StepListener.NONE);
            assertThat(maxAbs(a.narrow(0, 2, 1), alone.narrow(0, 2, 1))).isLessThan(1e-4);
        }
    }

    @Test
    void guidingThreeChannelsDiffersFromGuidingAllAndGuidanceOneIsUnguided() throws Exception {
        DiTPipeline p = DiTPipeline.load(PIPELINE);
        try (PointerScope scope = new PointerScope()) {
            Tensor all = p.generate(request(List.of(2), 4, 1, 0), null, null, StepListener.NONE);
            Tensor three = p.generate(request(List.of(2), 4, 1, 3), null, null, StepListener.NONE);
            Tensor four = p.generate(request(List.of(2), 4, 1, 4), null, null, StepListener.NONE);
            assertThat(maxAbs(all, three)).isGreaterThan(1e-3);
            assertThat(maxAbs(all, four)).isEqualTo(0.0);
            Tensor unguided = p.generate(request(List.of(2), 1, 1, 0), null, null, StepListener.NONE);
            Tensor below = p.generate(request(List.of(2), 0.5, 1, 0), null, null, StepListener.NONE);
            assertThat(maxAbs(unguided, below)).isEqualTo(0.0);
            assertThat(maxAbs(all, unguided)).isGreaterThan(1e-3);
        }
    }

    @Test
    void ddpmWithALearnedRangeUsesTheTransformersVariance() throws Exception {
        DiTPipeline p = DiTPipeline.load(PIPELINE);
        try (PointerScope scope = new PointerScope()) {
            SamplerSpec small = new SamplerSpec(SamplerSpec.Kind.DDPM, 10, 0, TimestepSpacing.TRAILING,
                    DdpmSampler.Variance.FIXED_SMALL, false, false, 2.0, 0.0);
            SamplerSpec learned = new SamplerSpec(SamplerSpec.Kind.DDPM, 10, 0, TimestepSpacing.TRAILING,
                    DdpmSampler.Variance.LEARNED_RANGE, false, false, 2.0, 0.0);
            Tensor a = p.generate(request(List.of(4), 4, 1, 0), small, null, StepListener.NONE);
            Tensor b = p.generate(request(List.of(4), 4, 1, 0), learned, null, StepListener.NONE);
            assertThat(Tensors.allFinite(b)).isTrue();
            assertThat(maxAbs(a, b)).isGreaterThan(1e-3);
        }
    }

    @Test
    void refusesClassesLabelsAndFoldersItCannotUse() throws Exception {
        DiTPipeline p = DiTPipeline.load(PIPELINE);
        try (PointerScope scope = new PointerScope()) {
            assertThatThrownBy(() -> p.generate(request(List.of(1000), 4, 1, 0), null, null, StepListener.NONE))
                    .hasMessageContaining("class 1000 is not a class of this model (0 to 999)");
        }
        assertThatThrownBy(() -> request(List.of(1, 2), 4, 3, 0)).hasMessageContaining("2 class labels for 3 images");
        assertThatThrownBy(() -> request(List.of(), 4, 1, 0)).hasMessageContaining("class labels");
        assertThatThrownBy(() -> request(List.of(1), -1, 1, 0)).hasMessageContaining("guidance");
        assertThatThrownBy(() -> request(List.of(1), 4, 1, -1)).hasMessageContaining("guided channels");
        Files.writeString(dir.resolve("model_index.json"), "{\"_class_name\": \"StableDiffusionPipeline\"}");
        assertThatThrownBy(() -> DiTPipeline.load(dir)).hasMessageContaining("is not DiTPipeline");
        // diffusers writes DPM-Solver configs with a bare -Infinity; it reads, and runs.
        DiTPipeline dpm = p.withScheduler(Json.readFile(Shared.dit().resolve(
                "pipe_a2_dpmpp_cfg1/scheduler/scheduler_config.json")));
        assertThat(dpm.schedulerClass()).isEqualTo("DPMSolverMultistepScheduler");
    }
}
