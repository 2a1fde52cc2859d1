package org.diffusion4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.global.torch;
import org.diffusion4j.checkpoint.Safetensors;
import org.diffusion4j.eval.Extractors;
import org.diffusion4j.render.ImageGrid;
import org.diffusion4j.tensor.Tensors;
import org.diffusion4j.testing.Shared;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GenerateCommandTest {
    private static final Path PIPELINE = Shared.sd().resolve("sdpipe_a");

    @TempDir
    Path dir;

    /** A DiT pipeline through the command: its recorded run from the recorded latents, then the option checks. */
    @Test
    void drawsClassesWithADiTPipelineFolder() throws IOException {
        JsonNode json = Shared.read(Shared.dit().resolve("pipe_a1_ddim_cfg4.json"));
        Path latents = dir.resolve("dit.latents.safetensors");
        try (PointerScope scope = new PointerScope()) {
            JsonNode l = json.get("latents_initial");
            Safetensors.write(latents, Map.of("latents", Tensors.fromDoubles(Shared.doubles(l.get("data")),
                    Shared.longs(l.get("shape"))).to(torch.ScalarType.Float)), Map.of());
        }
        Path dit = Shared.dit().resolve("ditpipe_a");
        Path png = dir.resolve("dit.png");
        MainTest.Run r = MainTest.run("generate", "--model", dit.toString(), "--class", "1,3", "--steps", "4",
                "--scheduler", Shared.dit().resolve("pipe_a1_ddim_cfg4/scheduler").toString(), "--latents",
                latents.toString(), "--out", png.toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("generated 2 images of 16x16 with DDIMScheduler, 4 steps, class [1, 3], "
                + "guidance 4");
        JsonNode want = json.get("output_image");
        double[] data = Shared.doubles(want.get("data"));
        for (int i = 0; i < 2; i++) {
            Path file = dir.resolve("dit-" + i + ".png");
            BufferedImage img = ImageIO.read(file.toFile());
            int worst = 0;
            for (int y = 0; y < 16; y++) {
                for (int x = 0; x < 16; x++) {
                    int rgb = img.getRGB(x, y);
                    for (int k = 0; k < 3; k++) {
                        int ours = (rgb >> (16 - 8 * k)) & 0xff;
                        int theirs = (int) Math.round(data[((i * 16 + y) * 16 + x) * 3 + k] * 255);
                        worst = Math.max(worst, Math.abs(ours - theirs));
                    }
                }
            }
            assertThat(worst).as(file + ": largest difference from diffusers' image, in 8-bit levels").isLessThanOrEqualTo(1);
            assertThat(ImageGrid.pngText(Files.readAllBytes(file))).containsEntry("class", i == 0 ? "1" : "3")
                    .containsEntry("sampler", "DDIMScheduler").containsEntry("guidance_scale", "4");
        }
        MainTest.Run prompt = MainTest.run("generate", "--model", dit.toString(), "--prompt", "a cat", "--out",
                dir.resolve("p.png").toString());
        assertThat(prompt.err()).contains("is a DiT pipeline, which draws classes: give --class");
        MainTest.Run none = MainTest.run("generate", "--model", dit.toString(), "--out", dir.resolve("p.png").toString());
        assertThat(none.err()).contains("--class is required for a DiT pipeline");
        MainTest.Run big = MainTest.run("generate", "--model", dit.toString(), "--class", "1000", "--out",
                dir.resolve("p.png").toString());
        assertThat(big.err()).contains("--class must be in [0, 999]");
        MainTest.Run variance = MainTest.run("generate", "--model", dit.toString(), "--class", "5", "--sampler",
                "ddpm", "--variance", "learned_range", "--steps", "8", "--out", dir.resolve("v.png").toString());
        assertThat(variance.code()).as(variance.err()).isZero();
        MainTest.Run classOnSd = MainTest.run("generate", "--model", PIPELINE.toString(), "--prompt", "x", "--class",
                "1", "--out", dir.resolve("q.png").toString());
        assertThat(classOnSd.err()).contains("--class is for DiT pipelines");
    }

    /**
     * Every recorded text-to-image case, through the command: its prompts, guidance, steps, scheduler and starting
     * latents give diffusers' output image to within one 8-bit level in every pixel.
     */
    @Test
    void recordedPipelineRunsGiveDiffusersImagesThroughTheCommand() throws IOException {
        List<Path> cases;
        try (Stream<Path> files = Files.list(Shared.sd())) {
            cases = files.filter(f -> f.getFileName().toString().matches("pipe_a\\d+_t2i_.*\\.json")).sorted().toList();
        }
        assertThat(cases).isNotEmpty();
        for (Path c : cases) {
            JsonNode json = Shared.read(c);
            JsonNode call = json.get("call");
            Path latents = dir.resolve(c.getFileName() + ".latents.safetensors");
            try (PointerScope scope = new PointerScope()) {
                JsonNode l = json.get("latents_input");
                Safetensors.write(latents, Map.of("latents", Tensors.fromDoubles(Shared.doubles(l.get("data")),
                        Shared.longs(l.get("shape"))).to(torch.ScalarType.Float)), Map.of());
            }
            Path png = dir.resolve(c.getFileName() + ".png");
            List<String> args = new ArrayList<>(List.of("generate", "--model",
                    Shared.sd().resolve(json.get("pipeline_dir").asText()).toString(), "--prompt",
                    call.get("prompt").asText(), "--guidance", call.get("guidance_scale").asText(), "--steps",
                    call.get("num_inference_steps").asText(), "--scheduler",
                    Shared.sd().resolve(json.get("scheduler_dir").asText()).toString(), "--latents",
                    latents.toString(), "--out", png.toString()));
            if (!call.path("negative_prompt").isNull() && call.has("negative_prompt")) {
                args.addAll(List.of("--negative-prompt", call.get("negative_prompt").asText()));
            }
            MainTest.Run r = MainTest.run(args.toArray(new String[0]));
            assertThat(r.code()).as(c + ": " + r.err()).isZero();
            BufferedImage img = ImageIO.read(png.toFile());
            JsonNode want = json.get("output_image");
            int h = want.get("shape").get(1).asInt();
            int w = want.get("shape").get(2).asInt();
            assertThat(img.getWidth()).isEqualTo(w);
            assertThat(img.getHeight()).isEqualTo(h);
            double[] data = Shared.doubles(want.get("data"));
            int worst = 0;
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    int rgb = img.getRGB(x, y);
                    for (int k = 0; k < 3; k++) {
                        int ours = (rgb >> (16 - 8 * k)) & 0xff;
                        int theirs = (int) Math.round(data[(y * w + x) * 3 + k] * 255);
                        worst = Math.max(worst, Math.abs(ours - theirs));
                    }
                }
            }
            assertThat(worst).as(c.toString()).isLessThanOrEqualTo(1);
            assertThat(r.out()).contains("with " + json.get("scheduler").asText());
        }
    }

    /**
     * Image i depends only on (seed, i): three images drawn two at a time equal the same three drawn at once, and the
     * first equals a single image. Each PNG says what made it in its text chunks, a non-Latin prompt included.
     */
    @Test
    void imagesDependOnlyOnSeedAndIndexAndCarryTheirSettings() throws IOException {
        String prompt = "ein Pferd auf dem Mars, 火星の馬";
        String[] common = {"generate", "--model", PIPELINE.toString(), "--prompt", prompt, "--negative-prompt",
            "blurry", "--steps", "3", "--seed", "7"};
        MainTest.Run batched = MainTest.run(MainTest.concat(common, "--n", "3", "--batch-size", "2", "--out",
                dir.resolve("a.png").toString()));
        assertThat(batched.code()).as(batched.err()).isZero();
        MainTest.Run whole = MainTest.run(MainTest.concat(common, "--n", "3", "--batch-size", "3", "--out",
                dir.resolve("b.png").toString()));
        assertThat(whole.code()).as(whole.err()).isZero();
        MainTest.Run single = MainTest.run(MainTest.concat(common, "--out", dir.resolve("c.png").toString()));
        assertThat(single.code()).as(single.err()).isZero();
        for (int i = 0; i < 3; i++) {
            assertThat(Files.readAllBytes(dir.resolve("a-" + i + ".png")))
                    .isEqualTo(Files.readAllBytes(dir.resolve("b-" + i + ".png")));
        }
        assertThat(Files.readAllBytes(dir.resolve("a-1.png"))).isNotEqualTo(Files.readAllBytes(dir.resolve("a-0.png")));
        Map<String, String> text = ImageGrid.pngText(Files.readAllBytes(dir.resolve("a-2.png")));
        assertThat(text).containsEntry("prompt", prompt).containsEntry("negative_prompt", "blurry")
                .containsEntry("seed", "7").containsEntry("index", "2").containsEntry("sampler", "PNDMScheduler")
                .containsEntry("steps", "3").containsEntry("guidance_scale", "7.5").containsEntry("model", "sdpipe_a");
        assertThat(text.get("parameters")).startsWith(prompt + "\nNegative prompt: blurry\nSteps: 3, Sampler: "
                + "PNDMScheduler, CFG scale: 7.5, Seed: 7");
        // The single image is image 0 of the run, text chunks included.
        assertThat(Files.readAllBytes(dir.resolve("c.png"))).isEqualTo(Files.readAllBytes(dir.resolve("a-0.png")));
    }

    /** Our samplers run on the pipeline's schedule, at any size the model divides, without guidance in one pass. */
    @Test
    void ourSamplersAndOtherSizesRun() throws IOException {
        Path png = dir.resolve("wide.png");
        MainTest.Run r = MainTest.run("generate", "--model", PIPELINE.toString(), "--prompt", "a cat", "--sampler",
                "dpm++2m", "--karras", "--steps", "4", "--guidance", "1", "--width", "32", "--height", "16", "--bf16",
                "--out", png.toString());
        assertThat(r.code()).as(r.err()).isZero();
        BufferedImage img = ImageIO.read(png.toFile());
        assertThat(img.getWidth()).isEqualTo(32);
        assertThat(img.getHeight()).isEqualTo(16);
        assertThat(r.out()).contains("of 32x16 with dpm++2m-karras, 4 steps, guidance 1");
        assertThat(ImageGrid.pngText(Files.readAllBytes(png))).containsEntry("sampler", "dpm++2m-karras")
                .doesNotContainKey("negative_prompt");
    }

    /** Bad input names the option or file and what was wrong, and writes nothing. */
    @Test
    void badInputIsRefusedByNameAndWritesNothing() throws IOException {
        Path png = dir.resolve("x.png");
        String[] base = {"generate", "--model", PIPELINE.toString(), "--prompt", "a cat", "--steps", "2"};
        MainTest.Run odd = MainTest.run(MainTest.concat(base, "--width", "17", "--out", png.toString()));
        assertThat(odd.code()).isEqualTo(1);
        assertThat(odd.err()).contains("--width/--height").contains("must be multiples of").contains("got 17x16");
        MainTest.Run sampler = MainTest.run(MainTest.concat(base, "--sampler", "dpm4", "--out", png.toString()));
        assertThat(sampler.code()).isEqualTo(1);
        assertThat(sampler.err()).contains("--sampler").contains("dpm4");
        Path single = dir.resolve("model.safetensors");
        Files.write(single, new byte[16]);
        MainTest.Run file = MainTest.run("generate", "--model", single.toString(), "--prompt", "a cat", "--out",
                png.toString());
        assertThat(file.code()).isEqualTo(1);
        assertThat(file.err()).contains(single + ": a single-file checkpoint").contains("from_single_file");
        Path latents = dir.resolve("l.safetensors");
        try (PointerScope scope = new PointerScope()) {
            Safetensors.write(latents, Map.of("a", torch.zeros(1, 3, 8, 8), "b", torch.zeros(1)), Map.of());
        }
        MainTest.Run two = MainTest.run(MainTest.concat(base, "--latents", latents.toString(), "--out",
                png.toString()));
        assertThat(two.code()).isEqualTo(1);
        assertThat(two.err()).contains("--latents " + latents + ": expected exactly one tensor");
        MainTest.Run jpg = MainTest.run(MainTest.concat(base, "--out", dir.resolve("x.jpg").toString()));
        assertThat(jpg.code()).isEqualTo(1);
        assertThat(jpg.err()).contains("name it *.png");
        assertThat(png).doesNotExist();

        Files.writeString(png, "keep");
        MainTest.Run exists = MainTest.run(MainTest.concat(base, "--out", png.toString()));
        assertThat(exists.code()).isEqualTo(1);
        assertThat(exists.err()).contains("--out " + png + " already exists; pass --overwrite");
        assertThat(Files.readString(png)).isEqualTo("keep");
    }

    /** A size x size RGB PNG: a gradient, or with {@code square} white inside the middle half and black elsewhere. */
    private Path png(String name, int w, int h, boolean square) throws IOException {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                boolean inside = x >= w / 4 && x < 3 * w / 4 && y >= h / 4 && y < 3 * h / 4;
                int v = square ? (inside ? 255 : 0) : (x * 255 / w);
                img.setRGB(x, y, (v << 16) | ((y * 255 / h) << 8) | (square ? v : 128));
            }
        }
        Path f = dir.resolve(name);
        ImageIO.write(img, "png", f.toFile());
        return f;
    }

    /**
     * img2img and inpainting from the command: the output takes the init image's size, image i depends only on
     * (seed, i) whatever the batch, and the PNG records the init image, strength and mask.
     */
    @Test
    void img2imgAndInpaintingRunFromTheCommandAndImageIDependsOnlyOnSeedAndI() throws IOException {
        Path init = png("init.png", 32, 16, false);
        Path mask = png("mask.png", 32, 16, true);
        String[] base = {"generate", "--model", PIPELINE.toString(), "--prompt", "a cabin, snow", "--steps", "5",
                "--init-image", init.toString()};
        Path one = dir.resolve("one.png");
        MainTest.Run r1 = MainTest.run(MainTest.concat(base, "--strength", "0.6", "--out", one.toString()));
        assertThat(r1.code()).as(r1.err()).isZero();
        assertThat(r1.out()).contains("generated 1 image of 32x16");
        Path two = dir.resolve("two.png");
        MainTest.Run r2 = MainTest.run(MainTest.concat(base, "--strength", "0.6", "--n", "2", "--batch-size", "2",
                "--out", two.toString()));
        assertThat(r2.code()).as(r2.err()).isZero();
        assertThat(ImageIO.read(dir.resolve("two-0.png").toFile()).getRGB(0, 0, 32, 16, null, 0, 32))
                .containsExactly(ImageIO.read(one.toFile()).getRGB(0, 0, 32, 16, null, 0, 32));
        assertThat(ImageIO.read(dir.resolve("two-1.png").toFile()).getRGB(0, 0, 32, 16, null, 0, 32))
                .isNotEqualTo(ImageIO.read(one.toFile()).getRGB(0, 0, 32, 16, null, 0, 32));
        assertThat(ImageGrid.pngText(Files.readAllBytes(one))).containsEntry("init_image", "init.png")
                .containsEntry("strength", "0.6").doesNotContainKey("mask");

        Path painted = dir.resolve("painted.png");
        MainTest.Run r3 = MainTest.run(MainTest.concat(base, "--mask", mask.toString(), "--sampler", "euler",
                "--out", painted.toString()));
        assertThat(r3.code()).as(r3.err()).isZero();
        assertThat(ImageGrid.pngText(Files.readAllBytes(painted))).containsEntry("mask", "mask.png")
                .containsEntry("strength", "1").containsEntry("sampler", "euler");
        assertThat(ImageGrid.pngText(Files.readAllBytes(painted)).get("parameters"))
                .contains("Denoising strength: 1");
    }

    @Test
    void img2imgInputThatDoesNotFitIsRefusedByName() throws IOException {
        Path png = dir.resolve("x.png");
        Path init = png("init.png", 32, 16, false);
        String[] base = {"generate", "--model", PIPELINE.toString(), "--prompt", "a cat", "--steps", "5", "--out",
                png.toString()};
        MainTest.Run lone = MainTest.run(MainTest.concat(base, "--mask", init.toString()));
        assertThat(lone.err()).contains("--mask needs --init-image");
        MainTest.Run weak = MainTest.run(MainTest.concat(base, "--init-image", init.toString(), "--strength", "0.1"));
        assertThat(weak.err()).contains("--strength: strength 0.1 of 5 steps runs no step");
        MainTest.Run odd = MainTest.run(MainTest.concat(base, "--init-image", png("odd.png", 17, 16, false)
                .toString()));
        assertThat(odd.err()).contains("--init-image").contains("must be multiples of").contains("got 17x16");
        MainTest.Run missing = MainTest.run(MainTest.concat(base, "--init-image", dir.resolve("none.png").toString()));
        assertThat(missing.err()).contains(dir.resolve("none.png").toString());
        assertThat(png).doesNotExist();
        assertThat(lone.code() + weak.code() + odd.code() + missing.code()).isEqualTo(4);
    }

    /**
     * With no --model, generate runs the text model shipped in models/mnist-text (tests run from the repository's
     * root): a regression guard for the folder and its loading. The shipped CNN reads the centre 28x28 of each image
     * as the digit its prompt names. Measured: 8 of 8 for each prompt; the 500-step checkpoint of the same run
     * drew the asked digit in 10% of 60 images, so it would fail here.
     */
    @Test
    void theShippedTextModelDrawsTheDigitItsPromptNames() throws Exception {
        assertThat(GenerateCommand.shippedModel()).isEqualTo(Path.of(".", "models", "mnist-text"));
        for (String[] prompt : new String[][] {{"the digit seven", "7"}, {"a handwritten 3", "3"}}) {
            Path out = dir.resolve("p" + prompt[1] + ".png");
            MainTest.Run r = MainTest.run("generate", "--prompt", prompt[0], "--n", "8", "--batch-size", "8", "--out",
                    out.toString());
            assertThat(r.code()).as(r.err()).isZero();
            float[] px = new float[8 * 28 * 28];
            for (int i = 0; i < 8; i++) {
                BufferedImage img = ImageIO.read(OutputPaths.withSuffix(out, ".png", "-" + i + ".png").toFile());
                assertThat(img.getWidth()).isEqualTo(32);
                for (int y = 0; y < 28; y++) {
                    for (int x = 0; x < 28; x++) {
                        px[i * 784 + y * 28 + x] = img.getRaster().getSample(x + 2, y + 2, 0) / 127.5f - 1;
                    }
                }
            }
            try (PointerScope scope = new PointerScope()) {
                long[] seen = Extractors.load(Extractors.shippedFor("mnist"))
                        .predict(Tensors.fromFloats(px, 8, 1, 28, 28));
                System.out.println("generate --prompt \"" + prompt[0] + "\": the CNN sees " + Arrays.toString(seen));
                assertThat(Arrays.stream(seen).filter(c -> c == Long.parseLong(prompt[1])).count())
                        .as(prompt[0]).isGreaterThanOrEqualTo(7);
            }
        }
    }

    /** Without the shipped folder (a bare install), generate says what is missing and what to pass instead. */
    @Test
    void aMissingShippedModelIsNamed() {
        String home = System.getProperty("diffusion4j.home");
        System.setProperty("diffusion4j.home", dir.toString());
        try {
            MainTest.Run r = MainTest.run("generate", "--prompt", "the digit one", "--out",
                    dir.resolve("x.png").toString());
            assertThat(r.code()).isNotZero();
            assertThat(r.err()).contains("shipped text model", "mnist-text", "--model");
            assertThat(dir.resolve("x.png")).doesNotExist();
        } finally {
            if (home == null) {
                System.clearProperty("diffusion4j.home");
            } else {
                System.setProperty("diffusion4j.home", home);
            }
        }
    }
}
