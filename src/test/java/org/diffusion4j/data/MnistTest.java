package org.diffusion4j.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.diffusion4j.testing.Shared;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MnistTest {
    @TempDir
    Path dir;

    private static Path shared(Mnist m) {
        Path d = Shared.dir().resolve("datasets").resolve(m.id());
        assumeTrue(Files.isDirectory(d), "shared datasets not found at " + d.toAbsolutePath());
        return d;
    }

    @Test
    void loadsBothSplitsWithVerifiedChecksums() throws IOException {
        for (Mnist m : Mnist.values()) {
            Path d = m == Mnist.MNIST ? Shared.mnist() : Shared.fashionMnist();
            LabeledImages train = m.load(d, true);
            LabeledImages test = m.load(d, false);
            assertThat(train.height()).isEqualTo(28);
            assertThat(train.width()).isEqualTo(28);
            assertThat(train.count()).isEqualTo(60_000);
            assertThat(test.count()).isEqualTo(10_000);
            int[] hist = new int[10];
            for (byte b : train.labels()) {
                hist[b]++;
            }
            for (int c : hist) {
                assertThat(c).as(m.id() + " class balance").isBetween(5000, 7000);
            }
        }
        // MNIST's first training label is a 5, famously.
        assertThat(Mnist.MNIST.load(Shared.mnist(), true).labels()[0]).isEqualTo((byte) 5);
        // Our Fashion-MNIST conversion has exactly 6000 / 1000 per class.
        byte[] labels = Mnist.FASHION_MNIST.load(Shared.fashionMnist(), false).labels();
        int[] hist = new int[10];
        for (byte b : labels) {
            hist[b]++;
        }
        assertThat(hist).containsOnly(1000);
    }

    /** The shared Fashion-MNIST is one image short per split (labels drift after it), so it must be refused. */
    @Test
    void theDefectiveSharedFashionCopyIsRefused() {
        Path d = shared(Mnist.FASHION_MNIST);
        assertThatThrownBy(() -> Mnist.FASHION_MNIST.verify(d)).isInstanceOf(IOException.class)
                .hasMessageContaining("fashion-mnist").hasMessageMatching("(?s).*(truncated|SHA-256).*");
    }

    @Test
    void wrongFilesAreRefusedNamingThem() throws IOException {
        Path d = dir.resolve("mnist");
        Files.createDirectories(d);
        assertThatThrownBy(() -> Mnist.MNIST.load(d, true)).hasMessageContaining("train-images-idx3-ubyte(.gz) is missing")
                .hasMessageContaining("./diffusion4j fetch mnist");
        // Valid IDX files with the wrong content: caught by the checksum.
        Files.write(d.resolve("train-images-idx3-ubyte"), IdxFileTest.idx(0x00000803, new int[] {1, 2, 2}, 4, 0));
        Files.write(d.resolve("train-labels-idx1-ubyte"), IdxFileTest.idx(0x00000801, new int[] {1}, 1, 0));
        assertThatThrownBy(() -> Mnist.MNIST.load(d, true)).hasMessageContaining("train-images-idx3-ubyte: SHA-256");
        assertThatThrownBy(() -> Mnist.parse("cifar10")).hasMessageContaining("mnist or fashion-mnist");
    }
}
