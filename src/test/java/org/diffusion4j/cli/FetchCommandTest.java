package org.diffusion4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.diffusion4j.data.IdxFile;
import org.diffusion4j.data.Mnist;
import org.diffusion4j.testing.Shared;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FetchCommandTest {
    @TempDir
    Path dir;

    @Test
    void fetchesFashionMnistAndReportsIt() {
        Path fetched = Shared.fashionMnist();
        MainTest.Run r = MainTest.run("fetch", "fashion-mnist", "--cache", fetched.getParent().toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("fashion-mnist: 60000 train + 10000 test images of 28x28, checksums verified, in "
                + fetched);
    }

    /** A damaged cached file is fetched again rather than reported as present. */
    @Test
    void repairsADamagedCache() throws IOException {
        Path fetched = Shared.fashionMnist();
        Path cached = Files.createDirectories(dir.resolve("fashion-mnist"));
        for (String name : Mnist.FASHION_MNIST.checksums().keySet()) {
            Files.copy(fetched.resolve(name), cached.resolve(name));
        }
        Path labels = cached.resolve("t10k-labels-idx1-ubyte");
        byte[] b = Files.readAllBytes(labels);
        b[100] = (byte) ((b[100] + 1) % 10);
        Files.write(labels, b);
        MainTest.Run r = MainTest.run("fetch", "fashion-mnist", "--cache", dir.toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(IdxFile.read(labels).sha256()).isEqualTo(Mnist.FASHION_MNIST.checksums().get("t10k-labels-idx1-ubyte"));
        try (var files = Files.list(cached)) {
            assertThat(files).as("no leftover work folder").hasSize(4);
        }
    }

    @Test
    void unknownDatasetsAreRefused() {
        MainTest.Run r = MainTest.run("fetch", "cifar10");
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).contains("DATASET: unknown image dataset 'cifar10'");
    }
}
