package org.diffusion4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.imageio.ImageIO;
import org.diffusion4j.run.AutoencoderRun;
import org.diffusion4j.run.AutoencoderRunTest;
import org.diffusion4j.run.Latents;
import org.diffusion4j.testing.Bars;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A text-conditioned latent model from the command line: train --captions on the latents of labelled bars, export it
 * as a diffusers pipeline folder, and generate from prompts that name the bar.
 */
class ExportCommandTest {
    @TempDir
    static Path dir;

    private static Path checkpoint;
    private static Path pipeline;

    @BeforeAll
    static void trainAndExport() throws IOException {
        Path ae = AutoencoderRunTest.trainBars(dir, "ae.safetensors", 250, 0);
        AutoencoderRun.Loaded loaded = AutoencoderRun.load(ae);
        Path latents = dir.resolve("latents.safetensors");
        Latents.encode(loaded.model(), ae, loaded.sha256(), Bars.images(512, 1), 512, 128, latents, k -> { });
        Path captions = dir.resolve("captions.txt");
        Files.writeString(captions, "# class 0 is a horizontal bar, 1 a vertical one\n0 a horizontal bar\n"
                + "0\ta bar lying flat\n1 a vertical bar\n1 a bar standing upright\n");
        checkpoint = dir.resolve("text.safetensors");
        MainTest.Run train = MainTest.run("train", "--data", "latents:" + latents, "--captions", captions.toString(),
                "--channels", "16,32", "--text-width", "32", "--text-layers", "1", "--steps", "700", "--batch-size",
                "64", "--lr", "2e-3", "--warmup", "20", "--ema-decay", "0.99", "--out", checkpoint.toString());
        assertThat(train.code()).as(train.err()).isZero();
        pipeline = dir.resolve("pipe");
        MainTest.Run export = MainTest.run("export", "--checkpoint", checkpoint.toString(), "--out",
                pipeline.toString());
        assertThat(export.code()).as(export.err()).isZero();
    }

    @Test
    void theExportedPipelineDrawsTheBarThePromptNames() throws IOException {
        for (String f : new String[] {"model_index.json", "tokenizer/vocab.json", "tokenizer/merges.txt",
                "text_encoder/config.json", "text_encoder/model.safetensors", "unet/config.json",
                "unet/diffusion_pytorch_model.safetensors", "vae/config.json",
                "vae/diffusion_pytorch_model.safetensors", "scheduler/scheduler_config.json"}) {
            assertThat(pipeline.resolve(f)).isNotEmptyFile();
        }
        int right = 0;
        int total = 0;
        String[][] prompts = {{"a horizontal bar", "0"}, {"a vertical bar", "1"}, {"a bar standing upright", "1"}};
        for (String[] p : prompts) {
            Path out = dir.resolve("g" + p[1] + total + ".png");
            MainTest.Run gen = MainTest.run("generate", "--model", pipeline.toString(), "--prompt", p[0], "--n", "12",
                    "--batch-size", "12", "--guidance", "3", "--steps", "20", "--out", out.toString());
            assertThat(gen.code()).as(gen.err()).isZero();
            for (int i = 0; i < 12; i++) {
                float[] px = pixels(OutputPaths.withSuffix(out, ".png", "-" + i + ".png"));
                right += Bars.classify(px, 0) == Integer.parseInt(p[1]) ? 1 : 0;
                total++;
            }
        }
        System.out.printf("text-conditioned bars through the exported pipeline, guidance 3: %d of %d follow the "
                + "prompt%n", right, total);
        assertThat((double) right / total).isGreaterThanOrEqualTo(0.9);
    }

    /** A class-conditional latent DiT: trained, exported as a DiTPipeline folder, and drawn by class. */
    @Test
    void anExportedDiTPipelineDrawsTheBarItsClassNames() throws IOException {
        Path dit = dir.resolve("dit.safetensors");
        MainTest.Run train = MainTest.run("train", "--data", "latents:" + dir.resolve("latents.safetensors"),
                "--model", "dit", "--classes", "2", "--patch-size", "1", "--depth", "2", "--width", "32", "--heads",
                "2", "--steps", "700", "--batch-size", "64", "--lr", "2e-3", "--warmup", "20", "--ema-decay", "0.99",
                "--out", dit.toString());
        assertThat(train.code()).as(train.err()).isZero();
        Path folder = dir.resolve("dit-pipe");
        MainTest.Run export = MainTest.run("export", "--checkpoint", dit.toString(), "--out", folder.toString());
        assertThat(export.code()).as(export.err()).isZero();
        assertThat(export.out()).contains("--class K");
        for (String f : new String[] {"model_index.json", "transformer/config.json",
                "transformer/diffusion_pytorch_model.safetensors", "vae/config.json",
                "vae/diffusion_pytorch_model.safetensors", "scheduler/scheduler_config.json"}) {
            assertThat(folder.resolve(f)).isNotEmptyFile();
        }
        int right = 0;
        for (int k = 0; k < 2; k++) {
            Path out = dir.resolve("dit" + k + ".png");
            MainTest.Run gen = MainTest.run("generate", "--model", folder.toString(), "--class", Integer.toString(k),
                    "--n", "12", "--batch-size", "12", "--guidance", "3", "--steps", "20", "--out", out.toString());
            assertThat(gen.code()).as(gen.err()).isZero();
            for (int i = 0; i < 12; i++) {
                right += Bars.classify(pixels(OutputPaths.withSuffix(out, ".png", "-" + i + ".png")), 0) == k ? 1 : 0;
            }
        }
        System.out.printf("class-conditional DiT on bar latents through the exported pipeline, guidance 3: %d of 24 "
                + "show their class%n", right);
        assertThat(right / 24.0).isGreaterThanOrEqualTo(0.9);
    }

    private static float[] pixels(Path png) throws IOException {
        BufferedImage img = ImageIO.read(png.toFile());
        assertThat(img.getWidth()).isEqualTo(8);
        float[] px = new float[64];
        for (int y = 0; y < 8; y++) {
            for (int x = 0; x < 8; x++) {
                px[y * 8 + x] = (img.getRaster().getSample(x, y, 0) / 127.5f) - 1;
            }
        }
        return px;
    }

    @Test
    void refusesAnExistingFolderAndModelsWithoutText() throws IOException {
        MainTest.Run again = MainTest.run("export", "--checkpoint", checkpoint.toString(), "--out",
                pipeline.toString());
        assertThat(again.code()).isNotZero();
        assertThat(again.err()).contains("--out", "already exists", "--overwrite");
        Path plain = dir.resolve("plain.safetensors");
        MainTest.Run train = MainTest.run("train", "--data", "latents:" + dir.resolve("latents.safetensors"),
                "--channels", "16,32", "--steps", "2", "--out", plain.toString());
        assertThat(train.code()).as(train.err()).isZero();
        Path out = dir.resolve("plain-pipe");
        MainTest.Run export = MainTest.run("export", "--checkpoint", plain.toString(), "--out", out.toString());
        assertThat(export.code()).isNotZero();
        assertThat(export.err()).contains("plain.safetensors", "text-conditioned models (train --captions) and DiTs");
        assertThat(out).doesNotExist();
    }
}
