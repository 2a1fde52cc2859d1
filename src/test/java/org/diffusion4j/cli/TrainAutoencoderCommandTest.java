package org.diffusion4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.imageio.ImageIO;
import org.diffusion4j.testing.Bars;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TrainAutoencoderCommandTest {
    @TempDir
    Path dir;

    /** Trains a tiny autoencoder on a bars folder; returns the checkpoint. */
    static Path trainBars(Path dir) throws IOException {
        Path images = Bars.writePngs(Bars.images(64, 1), dir.resolve("bars"));
        Path ae = dir.resolve("ae.safetensors");
        MainTest.Run r = MainTest.run("train-autoencoder", "--data", "folder:" + images, "--image-size", "8", "--color",
                "grey", "--channels", "8,16", "--latent-channels", "2", "--steps", "30", "--batch-size", "16",
                "--out", ae.toString());
        assertThat(r.code()).as(r.err()).isZero();
        return ae;
    }

    @Test
    void writesTheCheckpointLossLogAndReconstructions() throws IOException {
        Path ae = trainBars(dir);
        assertThat(dir.resolve("ae.json")).exists();
        assertThat(Files.readAllLines(dir.resolve("ae.loss.csv"))).hasSize(31)
                .first().isEqualTo("step,loss,reconstruction_l1,kl_per_latent,lr");
        BufferedImage recon = ImageIO.read(dir.resolve("ae.recon.png").toFile());
        assertThat(recon).isNotNull();
        MainTest.Run inspect = MainTest.run("inspect", ae.toString());
        assertThat(inspect.code()).as(inspect.err()).isZero();
        assertThat(inspect.out()).contains("autoencoder_kl", "\"latent_size\":4").doesNotContain("schedule:");
        // An existing checkpoint is kept unless --overwrite is given.
        byte[] before = Files.readAllBytes(ae);
        MainTest.Run again = MainTest.run("train-autoencoder", "--data", "folder:" + dir.resolve("bars"),
                "--image-size", "8", "--color", "grey", "--steps", "1", "--out", ae.toString());
        assertThat(again.code()).isNotZero();
        assertThat(again.err()).contains("--out", "already exists");
        assertThat(Files.readAllBytes(ae)).isEqualTo(before);
    }

    @Test
    void reportsTheReconstructionOfHeldOutImages() throws IOException {
        Path images = Bars.writePngs(Bars.images(64, 1), dir.resolve("bars"));
        MainTest.Run r = MainTest.run("train-autoencoder", "--data", "folder:" + images, "--image-size", "8", "--color",
                "grey", "--channels", "8,16", "--latent-channels", "2", "--steps", "150", "--batch-size", "16",
                "--lr", "3e-3", "--out", dir.resolve("ae.safetensors").toString());
        assertThat(r.code()).as(r.err()).isZero();
        Matcher m = Pattern.compile("PSNR ([0-9.]+) dB").matcher(r.out());
        assertThat(m.find()).as(r.out()).isTrue();
        // An untrained autoencoder scores about 6 dB on these bars; 150 steps get well past 15.
        assertThat(Double.parseDouble(m.group(1))).isGreaterThan(15);
        assertThat(r.out()).contains("latent [2, 4, 4] (2.0x fewer values than the image)");
    }

    @Test
    void refusesNonImageDataAndNonsenseOptions() {
        Path out = dir.resolve("ae.safetensors");
        MainTest.Run toy = MainTest.run("train-autoencoder", "--data", "swiss-roll", "--out", out.toString());
        assertThat(toy.code()).isNotZero();
        assertThat(toy.err()).contains("--channels", "square images");
        MainTest.Run kl = MainTest.run("train-autoencoder", "--kl-weight", "-1", "--out", out.toString());
        assertThat(kl.code()).isNotZero();
        assertThat(kl.err()).contains("training options", "KL weight must be >= 0");
        MainTest.Run pickle = MainTest.run("train-autoencoder", "--out", dir.resolve("ae.ckpt").toString());
        assertThat(pickle.code()).isNotZero();
        assertThat(pickle.err()).contains("pickle");
        MainTest.Run size = MainTest.run("train-autoencoder", "--latent-size", "5", "--out", out.toString());
        assertThat(size.code()).isNotZero();
        assertThat(size.err()).contains("--latent-size", "latent_size 5");
        assertThat(out).doesNotExist();
    }
}
