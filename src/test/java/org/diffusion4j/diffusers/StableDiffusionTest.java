package org.diffusion4j.diffusers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.diffusion4j.checkpoint.Safetensors;
import org.diffusion4j.model.autoencoder.AutoencoderKL;
import org.diffusion4j.sampler.NoiseSource;
import org.diffusion4j.sampler.StepListener;
import org.diffusion4j.tensor.Rng;
import org.diffusion4j.tensor.Shapes;
import org.diffusion4j.tensor.Tensors;
import org.diffusion4j.testing.Recorded;
import org.diffusion4j.testing.Shared;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StableDiffusionTest {
    private static final Path PIPELINE = Shared.sd().resolve("sdpipe_a");

    @TempDir
    Path dir;

    /** Text-to-image from the recorded starting latents: the decoded image as diffusers made it, guided or not. */
    @Test
    void recordedTextToImageRunsComeOutAsDiffusersMadeThem() throws Exception {
        Recorded.requireSdCasesPass("pipe_a[12]_.*\\.json", 1, 1e-5);
    }

    /** img2img (bundled) and the 9-channel inpainting pipeline (with ../shared) replay diffusers' recorded runs. */
    @Test
    void recordedImg2ImgAndInpaintingRunsComeOutAsDiffusersMadeThem() throws Exception {
        Recorded.requireSdCasesPass("pipe_a[34]_.*\\.json", 1, 1e-5);
    }

    @Test
    void refusesAFolderThatIsNotAStableDiffusionPipeline() throws Exception {
        Files.writeString(dir.resolve("model_index.json"), "{\"_class_name\": \"DDPMPipeline\"}");
        assertThatThrownBy(() -> StableDiffusion.load(dir)).hasMessageContaining("model_index.json")
                .hasMessageContaining("'DDPMPipeline' is not a Stable Diffusion pipeline");
        Path single = dir.resolve("v1-5-pruned-emaonly.safetensors");
        Files.write(single, new byte[8]);
        assertThatThrownBy(() -> StableDiffusion.load(single)).hasMessageContaining(single.toString())
                .hasMessageContaining("single-file checkpoint").hasMessageContaining("save_pretrained");
    }

    /**
     * Weights as users download them: the same pipeline saved in float16 (and its U-Net in bfloat16) loads and draws
     * the float32 pipeline's image to within the weights' rounding.
     */
    @Test
    void halfPrecisionWeightsLoadAndDrawTheSameImage() throws IOException {
        Path half = dir.resolve("half");
        copyConverting(PIPELINE, half);
        try (PointerScope scope = new PointerScope()) {
            Tensor latents = Rng.of(3).randn(new long[] {1, 4, 8, 8});
            StableDiffusion.Request r = new StableDiffusion.Request("a red cube", null, 5, 4, 0, 0, 1, 0, 1, false, 0);
            Tensor full = StableDiffusion.load(PIPELINE).generate(r, null, latents, StepListener.NONE);
            Tensor lower = StableDiffusion.load(half).generate(r, null, latents, StepListener.NONE);
            double diff = full.sub(lower).abs().max().item_double();
            assertThat(diff).isGreaterThan(0).isLessThan(0.05);
        }
    }

    private static void copyConverting(Path from, Path to) throws IOException {
        try (Stream<Path> files = Files.walk(from)) {
            for (Path f : files.toList()) {
                Path target = to.resolve(from.relativize(f).toString());
                if (Files.isDirectory(f)) {
                    Files.createDirectories(target);
                } else if (f.toString().endsWith(".safetensors")) {
                    torch.ScalarType type = f.getParent().getFileName().toString().equals("unet")
                            ? torch.ScalarType.BFloat16 : torch.ScalarType.Half;
                    try (PointerScope scope = new PointerScope()) {
                        Map<String, Tensor> converted = new LinkedHashMap<>();
                        Safetensors.read(f).tensors().forEach((k, v) -> converted.put(k, v.to(type)));
                        Safetensors.write(target, converted, Map.of());
                    }
                } else {
                    Files.copy(f, target);
                }
            }
        }
    }

    /** The one-line entry point draws one image at the model's size with diffusers' defaults. */
    @Test
    void aPromptAloneGivesOneImageAtTheModelsSize() throws IOException {
        try (PointerScope scope = new PointerScope()) {
            StableDiffusion sd = StableDiffusion.load(PIPELINE);
            assertThat(sd.defaultSize()).isEqualTo(16);
            assertThat(sd.sizeMultiple()).isEqualTo(4);
            Tensor image = sd.generate("a horse");
            assertThat(Shapes.of(image)).containsExactly(1, 3, 16, 16);
            assertThat(Tensors.allFinite(image)).isTrue();
            StableDiffusion.Request r = StableDiffusion.Request.of("a horse");
            assertThat(List.of(r.guidance(), (double) r.steps(), (double) r.n())).containsExactly(7.5, 50.0, 1.0);
        }
    }

    @Test
    void requestsRefuseNonsenseNamingTheSetting() {
        assertThatThrownBy(() -> new StableDiffusion.Request(null, null, 7.5, 5, 0, 0, 1, 0, 1, false, 0))
                .hasMessageContaining("prompt");
        assertThatThrownBy(() -> new StableDiffusion.Request("p", null, Double.NaN, 5, 0, 0, 1, 0, 1, false, 0))
                .hasMessageContaining("guidance");
        assertThatThrownBy(() -> new StableDiffusion.Request("p", null, 7.5, 0, 0, 0, 1, 0, 1, false, 0))
                .hasMessageContaining("steps");
        assertThatThrownBy(() -> new StableDiffusion.Request("p", null, 7.5, 5, -8, 0, 1, 0, 1, false, 0))
                .hasMessageContaining("width and height");
        assertThatThrownBy(() -> new StableDiffusion.Request("p", null, 7.5, 5, 0, 0, 0, 0, 1, false, 0))
                .hasMessageContaining("n must be");
        assertThatThrownBy(() -> new StableDiffusion.Request("p", null, 7.5, 5, 0, 0, 1, 0, 1, false, -1))
                .hasMessageContaining("clip skip");
    }

    /**
     * Inpainting with a plain text-to-image U-Net keeps what the mask keeps: with nothing to paint, the result is the
     * image's own latents (the first posterior draw), decoded.
     */
    @Test
    void aMaskThatKeepsEverythingGivesBackTheImagesLatents() throws IOException {
        try (PointerScope scope = new PointerScope()) {
            StableDiffusion sd = StableDiffusion.load(PIPELINE);
            Tensor image = Rng.of(5).rand(1, 3, 16, 16).mul(Tensors.scalar(2)).sub(Tensors.scalar(1));
            StableDiffusion.Request r = new StableDiffusion.Request("a horse", null, 7.5, 4, 0, 0, 1, 3, 1, false, 0);
            Tensor out = sd.generate(r, new StableDiffusion.Init(image, 1.0, torch.zeros(1, 1, 16, 16)), null, null,
                    StepListener.NONE);
            AutoencoderKL.Posterior p = sd.vae().vae().encode(image);
            Tensor draw = NoiseSource.perSample(3, 0, 1).next(Shapes.of(p.mean()));
            Tensor expected = sd.vae().vae().decode(p.mean().add(p.std().mul(draw)));
            assertThat(out.sub(expected).abs().max().item_double()).isLessThan(1e-5);
            // Painting everywhere changes it.
            Tensor all = sd.generate(r, new StableDiffusion.Init(image, 1.0, torch.ones(1, 1, 16, 16)), null, null,
                    StepListener.NONE);
            assertThat(all.sub(expected).abs().max().item_double()).isGreaterThan(1e-2);
        }
    }

    @Test
    void inputsThatDoNotFitEachOtherAreRefusedBeforeAnyWork() throws IOException {
        try (PointerScope scope = new PointerScope()) {
            StableDiffusion sd = StableDiffusion.load(PIPELINE);
            StableDiffusion.Request r = new StableDiffusion.Request("a horse", null, 7.5, 4, 0, 0, 2, 0, 1, false, 0);
            Tensor image = torch.zeros(1, 3, 16, 16);
            assertThatThrownBy(() -> sd.imageSize(r, new StableDiffusion.Init(image, 0.5), torch.zeros(2, 4, 4, 4)))
                    .hasMessageContaining("img2img makes its starting latents from the image");
            assertThatThrownBy(() -> sd.imageSize(r, new StableDiffusion.Init(torch.zeros(3, 3, 16, 16), 0.5), null))
                    .hasMessageContaining("init image and mask: 3 for 2 draws");
            StableDiffusion.Request wide = new StableDiffusion.Request("a", null, 7.5, 4, 32, 0, 1, 0, 1, false, 0);
            assertThatThrownBy(() -> sd.imageSize(wide, new StableDiffusion.Init(image, 0.5), null))
                    .hasMessageContaining("width x height 32x0 disagrees with the init image's 16x16");
            assertThat(sd.imageSize(r, new StableDiffusion.Init(torch.zeros(1, 3, 8, 12), 0.5), null))
                    .containsExactly(8, 12);
            assertThatThrownBy(() -> new StableDiffusion.Init(image, 0.5, torch.zeros(1, 1, 8, 8)))
                    .hasMessageContaining("mask");
            assertThatThrownBy(() -> new StableDiffusion.Init(image, 0)).hasMessageContaining("strength must be in (0, 1]");
            assertThat(sd.isInpainting()).isFalse();
        }
    }
}
