package org.diffusion4j.data;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.HttpURLConnection;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;

/**
 * Downloads one URL into a partial file, resuming it when the file already holds bytes (an HTTP Range request; a
 * server that ignores it sends the whole file, which replaces them). Redirects are followed between http and https,
 * every read has a timeout, and a body shorter than its declared length is an error: the partial file stays for the
 * next attempt to resume. Checking the content is the caller's job.
 */
public final class HttpDownload {
    /**
     * @param connectTimeout to open a connection
     * @param readTimeout    the longest wait for the next bytes (headers or body)
     * @param maxRedirects   redirects followed before giving up
     */
    public record Settings(Duration connectTimeout, Duration readTimeout, int maxRedirects) {
        public Settings {
            if (connectTimeout.isNegative() || connectTimeout.isZero() || readTimeout.isNegative()
                    || readTimeout.isZero()) {
                throw new IllegalArgumentException("timeouts must be positive: " + connectTimeout + ", " + readTimeout);
            }
            if (maxRedirects < 0) {
                throw new IllegalArgumentException("maxRedirects must be >= 0, got " + maxRedirects);
            }
        }

        /** 20 s to connect, 60 s without data, 5 redirects. */
        public static Settings defaults() {
            return new Settings(Duration.ofSeconds(20), Duration.ofSeconds(60), 5);
        }
    }

    /** Sees the bytes held so far and the total, or -1 while it is unknown. */
    @FunctionalInterface
    public interface Listener {
        void progress(long bytes, long total);
    }

    private HttpDownload() {}

    /**
     * Brings {@code part} to the complete content of {@code url}.
     *
     * @throws IOException naming the URL: an HTTP error status, too many redirects, a timeout, or a truncated body
     */
    public static void to(URI url, Path part, Settings settings, Listener listener) throws IOException {
        long have = Files.exists(part) ? Files.size(part) : 0;
        URI at = url;
        for (int hop = 0; ; hop++) {
            HttpURLConnection c = open(at, settings, have);
            try {
                int code = status(c, at, settings);
                if (code >= 300 && code < 400) {
                    String location = c.getHeaderField("Location");
                    if (location == null) {
                        throw new IOException(at + ": HTTP " + code + " without a Location header");
                    }
                    if (hop >= settings.maxRedirects()) {
                        throw new IOException(url + ": more than " + settings.maxRedirects() + " redirects (last to "
                                + location + ")");
                    }
                    at = at.resolve(location);
                    continue;
                }
                if (code == 416 && have > 0) {
                    // The range starts at the end: the partial file is already complete.
                    return;
                }
                if (code != 200 && code != 206) {
                    throw new IOException(at + ": HTTP " + code + " " + c.getResponseMessage());
                }
                boolean append = code == 206;
                long length = c.getContentLengthLong();
                long total = length < 0 ? -1 : append ? have + length : length;
                receive(c, at, part, append ? have : 0, total, settings, listener);
                return;
            } finally {
                c.disconnect();
            }
        }
    }

    private static HttpURLConnection open(URI at, Settings settings, long have) throws IOException {
        String scheme = at.getScheme();
        if (!"http".equals(scheme) && !"https".equals(scheme)) {
            throw new IOException(at + ": only http and https are fetched");
        }
        HttpURLConnection c = (HttpURLConnection) at.toURL().openConnection();
        c.setInstanceFollowRedirects(false);
        c.setConnectTimeout((int) settings.connectTimeout().toMillis());
        c.setReadTimeout((int) settings.readTimeout().toMillis());
        c.setRequestProperty("User-Agent", "diffusion4j");
        if (have > 0) {
            c.setRequestProperty("Range", "bytes=" + have + "-");
        }
        return c;
    }

    private static int status(HttpURLConnection c, URI at, Settings settings) throws IOException {
        try {
            return c.getResponseCode();
        } catch (SocketTimeoutException e) {
            throw new IOException(at + ": no response within " + settings.readTimeout().toSeconds() + " s", e);
        } catch (UnknownHostException e) {
            throw new IOException(at + ": unknown host " + e.getMessage() + " (no network or DNS?)", e);
        } catch (IOException e) {
            throw new IOException(at + ": " + (e.getMessage() != null ? e.getMessage() : e.toString()), e);
        }
    }

    private static void receive(HttpURLConnection c, URI at, Path part, long start, long total, Settings settings,
                                Listener listener) throws IOException {
        long bytes = start;
        StandardOpenOption mode = start > 0 ? StandardOpenOption.APPEND : StandardOpenOption.TRUNCATE_EXISTING;
        try (InputStream in = c.getInputStream();
             OutputStream out = Files.newOutputStream(part, StandardOpenOption.CREATE, StandardOpenOption.WRITE, mode)) {
            byte[] buf = new byte[1 << 16];
            listener.progress(bytes, total);
            while (true) {
                int n;
                try {
                    n = in.read(buf);
                } catch (SocketTimeoutException e) {
                    throw new IOException(at + ": no data for " + settings.readTimeout().toSeconds() + " s after "
                            + bytes + " bytes (kept for resuming)", e);
                }
                if (n < 0) {
                    break;
                }
                out.write(buf, 0, n);
                bytes += n;
                listener.progress(bytes, total);
            }
        } catch (IOException e) {
            if (e.getMessage() != null && e.getMessage().startsWith(at.toString())) {
                throw e;
            }
            throw new IOException(at + ": transfer failed after " + bytes + " bytes (kept for resuming): " + e, e);
        }
        if (total >= 0 && bytes != total) {
            throw new IOException(at + ": truncated transfer, got " + bytes + " of " + total + " bytes (kept for "
                    + "resuming)");
        }
    }
}
