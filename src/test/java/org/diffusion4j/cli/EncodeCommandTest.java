package org.diffusion4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** encode, then latent diffusion through the CLI: train on the latents and sample decoded images. */
class EncodeCommandTest {
    @TempDir
    Path dir;

    @Test
    void encodedLatentsTrainAModelWhoseSamplesAreDecodedImages() throws IOException {
        Path ae = TrainAutoencoderCommandTest.trainBars(dir);
        Path latents = dir.resolve("latents.safetensors");
        MainTest.Run enc = MainTest.run("encode", "--autoencoder", ae.toString(), "--limit", "40", "--batch-size", "16",
                "--out", latents.toString());
        assertThat(enc.code()).as(enc.err()).isZero();
        assertThat(enc.out()).contains("encoded 40 images", "latents [2, 4, 4]", "scale factor");
        MainTest.Run info = MainTest.run("inspect", latents.toString());
        assertThat(info.out()).contains("diffusion4j-latents", "autoencoder_sha256", "mean", "std");

        Path ck = dir.resolve("ldm.safetensors");
        MainTest.Run train = MainTest.run("train", "--data", "latents:" + latents, "--channels", "16,32", "--steps", "3",
                "--out", ck.toString());
        assertThat(train.code()).as(train.err()).isZero();
        MainTest.Run inspect = MainTest.run("inspect", ck.toString());
        assertThat(inspect.out()).contains("autoencoder: {\"weights_file\":\"ae.safetensors\"");

        Path pngs = dir.resolve("samples");
        MainTest.Run sample = MainTest.run("sample", "--checkpoint", ck.toString(), "--n", "3", "--sampler", "ddim",
                "--sampler-steps", "4", "--format", "png", "--out", pngs.toString(), "--gif",
                dir.resolve("t.gif").toString());
        assertThat(sample.code()).as(sample.err()).isZero();
        // The latents are 2x4x4; what comes out is the autoencoder's 8x8 grey images.
        BufferedImage img = ImageIO.read(pngs.resolve("000002.png").toFile());
        assertThat(img.getWidth()).isEqualTo(8);
        assertThat(img.getHeight()).isEqualTo(8);
        assertThat(dir.resolve("t.gif")).isNotEmptyFile();
    }

    @Test
    void refusesMismatchedImagesBadSplitsAndExistingOutputs() throws IOException {
        Path ae = TrainAutoencoderCommandTest.trainBars(dir);
        Path out = dir.resolve("l.safetensors");
        MainTest.Run mnist = MainTest.run("encode", "--autoencoder", ae.toString(), "--data", "mnist", "--out",
                out.toString());
        assertThat(mnist.code()).isNotZero();
        assertThat(mnist.err()).contains("mnist", "[1, 28, 28]", "do not fit the autoencoder");
        MainTest.Run split = MainTest.run("encode", "--autoencoder", ae.toString(), "--split", "dev", "--out",
                out.toString());
        assertThat(split.code()).isNotZero();
        assertThat(split.err()).contains("--split", "'dev'");
        MainTest.Run limit = MainTest.run("encode", "--autoencoder", ae.toString(), "--limit", "0", "--out",
                out.toString());
        assertThat(limit.err()).contains("--limit must be >= 1");
        MainTest.Run self = MainTest.run("encode", "--autoencoder", ae.toString(), "--out", ae.toString());
        assertThat(self.code()).isNotZero();
        assertThat(self.err()).contains("also an input");
        assertThat(out).doesNotExist();
        MainTest.Run notAe = MainTest.run("encode", "--autoencoder", dir.resolve("missing.safetensors").toString(),
                "--out", out.toString());
        assertThat(notAe.code()).isNotZero();
        assertThat(notAe.err()).contains("missing.safetensors");
        assertThat(Files.exists(out)).isFalse();
    }
}
