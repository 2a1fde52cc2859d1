package org.diffusion4j.serve;

import java.util.List;

/**
 * Where the server listens and what one request may cost.
 *
 * @param host            bind address; loopback unless the user asks otherwise
 * @param port            TCP port; 0 picks a free one
 * @param allowedHosts    extra Host/Origin names accepted besides loopback and {@code host} (DNS-rebinding guard)
 * @param maxSteps        sampler steps per request: bounds one request's compute
 * @param maxBatch        images per request
 * @param maxScale        pixel magnification of returned PNGs
 * @param queueCapacity   requests waiting behind the running one; more are refused with 503
 * @param galleryCapacity finished images kept for download, oldest dropped first
 * @param httpThreads     requests handled at once (a live stream counts until it ends); more are answered 503
 * @param perClient       requests handled at once for one client address; more are answered 429
 */
public record ServeConfig(String host, int port, List<String> allowedHosts, int maxSteps, int maxBatch, int maxScale,
                          int queueCapacity, int galleryCapacity, int httpThreads, int perClient) {
    public ServeConfig {
        if (host == null || host.isBlank()) {
            throw new IllegalArgumentException("--host must not be empty");
        }
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("--port must be in [0, 65535], got " + port);
        }
        allowedHosts = List.copyOf(allowedHosts);
        requireAtLeast("--max-steps", maxSteps, 1);
        requireAtLeast("--max-batch", maxBatch, 1);
        requireAtLeast("--max-scale", maxScale, 1);
        requireAtLeast("--queue", queueCapacity, 0);
        requireAtLeast("--gallery", galleryCapacity, 1);
        // A stream waits in a connection thread; the API and the page need a few more than the queue can hold.
        requireAtLeast("--http-threads", httpThreads, queueCapacity + 4);
        requireAtLeast("--per-client", perClient, 1);
        if (perClient > httpThreads) {
            throw new IllegalArgumentException("--per-client " + perClient + " must not exceed the " + httpThreads
                    + " requests handled at once");
        }
        if (maxSteps > 10_000 || maxBatch > 256 || maxScale > 32) {
            throw new IllegalArgumentException("limits too large: --max-steps <= 10000, --max-batch <= 256, "
                    + "--max-scale <= 32");
        }
    }

    /** Loopback on a free port, with limits that keep one request under a minute on a laptop CPU. */
    public static ServeConfig localDefaults(int port) {
        return new ServeConfig("127.0.0.1", port, List.of(), 1000, 16, 8, 8, 200, 16, 12);
    }

    private static void requireAtLeast(String option, int value, int min) {
        if (value < min) {
            throw new IllegalArgumentException(option + " must be >= " + min + ", got " + value);
        }
    }
}
