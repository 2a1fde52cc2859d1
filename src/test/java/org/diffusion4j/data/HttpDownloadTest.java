package org.diffusion4j.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Random;
import org.diffusion4j.testing.FileServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HttpDownloadTest {
    private static final byte[] FILE = new byte[300_000];
    private static final HttpDownload.Settings FAST = new HttpDownload.Settings(Duration.ofSeconds(2),
            Duration.ofSeconds(1), 3);

    static {
        new Random(7).nextBytes(FILE);
    }

    @TempDir
    Path dir;

    private static FileServer server() throws IOException {
        return new FileServer(Map.of("f.bin", FILE), Map.of());
    }

    @Test
    void downloadsAFileAndReportsProgressUpToItsLength() throws IOException {
        try (FileServer s = server()) {
            Path part = dir.resolve("f.part");
            long[] last = {-1, -1};
            HttpDownload.to(s.folder("good").resolve("f.bin"), part, FAST, (bytes, total) -> {
                last[0] = bytes;
                last[1] = total;
            });
            assertThat(Files.readAllBytes(part)).isEqualTo(FILE);
            assertThat(last).containsExactly(FILE.length, FILE.length);
        }
    }

    @Test
    void followsARedirect() throws IOException {
        try (FileServer s = server()) {
            Path part = dir.resolve("f.part");
            HttpDownload.to(s.folder("redirect").resolve("f.bin"), part, FAST, (b, t) -> { });
            assertThat(Files.readAllBytes(part)).isEqualTo(FILE);
            assertThat(s.requests).containsExactly("GET /redirect/f.bin", "GET /good/f.bin");
        }
    }

    @Test
    void aTruncatedTransferFailsKeepsItsBytesAndResumesWithARangeRequest() throws IOException {
        try (FileServer s = server()) {
            Path part = dir.resolve("f.part");
            var url = s.folder("truncated").resolve("f.bin");
            assertThatThrownBy(() -> HttpDownload.to(url, part, FAST, (b, t) -> { }))
                    .isInstanceOf(IOException.class).hasMessageContaining(url.toString())
                    .hasMessageContaining("kept for resuming");
            long kept = Files.size(part);
            assertThat(kept).isPositive().isLessThan(FILE.length);
            HttpDownload.to(url, part, FAST, (b, t) -> { });
            assertThat(Files.readAllBytes(part)).isEqualTo(FILE);
            assertThat(s.requests.get(1)).isEqualTo("GET /truncated/f.bin Range: bytes=" + kept + "-");
            // Complete already: the server's 416 for a range past the end is success.
            HttpDownload.to(s.folder("good").resolve("f.bin"), part, FAST, (b, t) -> { });
            assertThat(Files.readAllBytes(part)).isEqualTo(FILE);
        }
    }

    @Test
    void aServerErrorAMissingFileAndTooManyRedirectsAreErrorsNamingTheUrl() throws IOException {
        try (FileServer s = server()) {
            Path part = dir.resolve("f.part");
            assertThatThrownBy(() -> HttpDownload.to(s.folder("broken").resolve("f.bin"), part, FAST, (b, t) -> { }))
                    .hasMessageContaining("/broken/f.bin: HTTP 503");
            assertThatThrownBy(() -> HttpDownload.to(s.folder("good").resolve("none"), part, FAST, (b, t) -> { }))
                    .hasMessageContaining("/good/none: HTTP 404");
            HttpDownload.Settings noRedirects = new HttpDownload.Settings(Duration.ofSeconds(2), Duration.ofSeconds(1),
                    0);
            assertThatThrownBy(() -> HttpDownload.to(s.folder("redirect").resolve("f.bin"), part, noRedirects,
                    (b, t) -> { })).hasMessageContaining("more than 0 redirects");
            assertThatThrownBy(() -> HttpDownload.to(URI.create("file:///etc/passwd"), part, FAST,
                    (b, t) -> { })).hasMessageContaining("only http and https");
        }
    }

    @Test
    void connectionFailuresNameTheUrl() throws IOException {
        Path part = dir.resolve("f.part");
        URI closed = URI.create("http://127.0.0.1:" + org.diffusion4j.testing.Ports.free() + "/f.bin");
        assertThatThrownBy(() -> HttpDownload.to(closed, part, FAST, (b, t) -> { }))
                .hasMessageStartingWith(closed + ": ").hasMessageContaining("refused");
        URI nowhere = URI.create("http://no-such-host.invalid/f.bin");
        assertThatThrownBy(() -> HttpDownload.to(nowhere, part, FAST, (b, t) -> { }))
                .hasMessage(nowhere + ": unknown host no-such-host.invalid (no network or DNS?)");
        assertThat(part).doesNotExist();
    }

    @Test
    void aStalledServerTimesOutInsteadOfHanging() throws IOException {
        try (FileServer s = server()) {
            Path part = dir.resolve("f.part");
            long start = System.nanoTime();
            assertThatThrownBy(() -> HttpDownload.to(s.folder("slow").resolve("f.bin"), part, FAST, (b, t) -> { }))
                    .hasMessageContaining("no data for 1 s after 100 bytes");
            // Bounded by the read timeout, not by the server's 3 s stall (a generous margin for a loaded machine).
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofMillis(2900));
        }
    }

    @Test
    void settingsRefuseNonPositiveTimeouts() {
        assertThatThrownBy(() -> new HttpDownload.Settings(Duration.ZERO, Duration.ofSeconds(1), 1))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new HttpDownload.Settings(Duration.ofSeconds(1), Duration.ofSeconds(1), -1))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
