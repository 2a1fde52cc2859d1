package org.diffusion4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Path;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SampleCommandTest {
    @TempDir
    Path dir;

    /** With no --checkpoint, sample uses the MNIST model shipped in the repository (tests run from its root). */
    @Test
    void samplesTheShippedModelByDefault() throws IOException {
        assertThat(SampleCommand.shippedModel()).isEqualTo(Path.of(".", "models", "mnist-unet.safetensors"));
        Path grid = dir.resolve("digits.png");
        MainTest.Run r = MainTest.run("sample", "--n", "4", "--out", grid.toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("sampled 4 images with ddim-50");
        assertThat(ImageIO.read(grid.toFile()).getWidth()).isEqualTo(2 * (28 * 2 + 2) + 2);
    }

    @Test
    void explainsAMissingShippedModel() {
        String old = System.getProperty("diffusion4j.home");
        try {
            System.setProperty("diffusion4j.home", dir.toString());
            MainTest.Run r = MainTest.run("sample", "--n", "4", "--out", dir.resolve("x.png").toString());
            assertThat(r.code()).isEqualTo(1);
            assertThat(r.err()).contains("--checkpoint is required: no shipped model at " + dir);
        } finally {
            if (old == null) {
                System.clearProperty("diffusion4j.home");
            } else {
                System.setProperty("diffusion4j.home", old);
            }
        }
    }
}
