package org.diffusion4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.diffusion4j.data.IdxFile;
import org.diffusion4j.data.Mnist;
import org.diffusion4j.testing.FileServer;
import org.diffusion4j.testing.Shared;
import org.diffusion4j.testing.Tarballs;
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
        assertThat(r.out()).contains("fashion-mnist: 60000 train + 10000 test images of 1x28x28, checksums verified, in "
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
        MainTest.Run r = MainTest.run("fetch", "cifar100");
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).contains("DATASET: unknown image dataset 'cifar100'; expected mnist, fashion-mnist or cifar10");
        MainTest.Run ftp = MainTest.run("fetch", "cifar10", "--mirror", "ftp://example.org/", "--cache", dir.toString());
        assertThat(ftp.code()).isEqualTo(1);
        assertThat(ftp.err()).contains("--mirror ftp://example.org/: must be an http or https URL");
    }

    /**
     * CIFAR-10 through the CLI from a loopback mirror: an archive whose SHA-256 is not the published one is refused
     * and deleted, the error says how to get the data without a network, and nothing lands in the cache.
     */
    @Test
    void aCifarArchiveWithTheWrongChecksumIsRefusedAndNothingLands() throws Exception {
        byte[] bogus = Tarballs.tgz(new String[] {"cifar-10-batches-bin/test_batch.bin"},
                new byte[][] {new byte[3073]});
        try (FileServer s = new FileServer(
                Map.of("cifar-10-binary.tar.gz", bogus), Map.of())) {
            String good = s.folder("good").toString();
            MainTest.Run r = MainTest.run("fetch", "cifar10", "--cache", dir.toString(), "--mirror",
                    good.substring(0, good.length() - 1));
            assertThat(r.code()).as(r.err()).isEqualTo(1);
            assertThat(r.err()).contains("could not fetch cifar10 from any source: " + good + "cifar-10-binary.tar.gz: "
                    + "SHA-256 is").contains("expected c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd")
                    .contains("no npm package ships CIFAR-10");
            assertThat(s.requests).containsExactly("GET /good/cifar-10-binary.tar.gz");
        }
        try (var left = Files.walk(dir)) {
            assertThat(left.filter(p -> !p.equals(dir) && !p.equals(dir.resolve("cifar10")))).as("nothing kept").isEmpty();
        }
    }
}
