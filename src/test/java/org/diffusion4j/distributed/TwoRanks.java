package org.diffusion4j.distributed;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.bytedeco.javacpp.PointerScope;
import org.diffusion4j.testing.Ports;

/** Two ranks in two threads of one JVM, over a real TCPStore and Gloo mesh on loopback. */
final class TwoRanks {
    private TwoRanks() {}

    static DistConfig config(int r, int world, int port, int timeoutSeconds) {
        return new DistConfig(world, r, "127.0.0.1", port, Duration.ofSeconds(timeoutSeconds),
                DistConfig.DEFAULT_BUCKET_BYTES, null);
    }

    /** Runs {@code body} as ranks 0 and 1 concurrently; returns their results in rank order. */
    static <T> List<T> run(Function<GlooGroup, T> body) throws Exception {
        int port = Ports.free();
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            List<Future<T>> fs = List.of(0, 1).stream().map(r -> pool.submit(() -> {
                try (PointerScope scope = new PointerScope()) {
                    return body.apply(GlooGroup.connect(config(r, 2, port, 30)));
                }
            })).toList();
            return List.of(fs.get(0).get(60, TimeUnit.SECONDS), fs.get(1).get(60, TimeUnit.SECONDS));
        } finally {
            pool.shutdownNow();
        }
    }
}
