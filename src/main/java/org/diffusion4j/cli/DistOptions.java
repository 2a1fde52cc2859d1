package org.diffusion4j.cli;

import java.time.Duration;
import org.diffusion4j.distributed.DistConfig;
import picocli.CommandLine.Option;

/** Where a training process sits in a data-parallel job (see {@code launch} for starting local ranks). */
final class DistOptions {
    @Option(names = "--world-size", defaultValue = "1", description = "Processes training together (data-parallel; "
            + "gradients are averaged with Gloo). --batch-size is the global batch, split evenly (default: "
            + "${DEFAULT-VALUE}).")
    int worldSize;

    @Option(names = "--rank", defaultValue = "0", description = "This process's rank in [0, --world-size); rank 0 "
            + "hosts the rendezvous and writes the checkpoints (default: ${DEFAULT-VALUE}).")
    int rank;

    @Option(names = "--master", description = "HOST:PORT of rank 0's rendezvous store, reachable from every rank "
            + "(e.g. 10.0.0.1:29500).")
    String master;

    @Option(names = "--dist-timeout", defaultValue = "600", description = "Seconds a rank waits for the others (at "
            + "start-up and in every all-reduce) before failing; a rank that dies is noticed at once (default: "
            + "${DEFAULT-VALUE}).")
    long timeoutSeconds;

    @Option(names = "--bucket-mb", defaultValue = "25", description = "Gradient all-reduce bucket size in MiB "
            + "(default: ${DEFAULT-VALUE}).")
    double bucketMb;

    @Option(names = "--gloo-interface", description = "Network interface for Gloo's connections (as "
            + "GLOO_SOCKET_IFNAME; default: that variable, else the address the host name resolves to).")
    String iface;

    DistConfig toConfig() {
        if (timeoutSeconds < 1) {
            throw new IllegalArgumentException("--dist-timeout must be >= 1 second, got " + timeoutSeconds);
        }
        if (!(bucketMb > 0) || Double.isInfinite(bucketMb)) {
            throw new IllegalArgumentException("--bucket-mb must be > 0, got " + bucketMb);
        }
        if (worldSize == 1) {
            if (rank != 0) {
                throw new IllegalArgumentException("--rank " + rank + " needs --world-size > 1");
            }
            return DistConfig.single();
        }
        DistConfig.Endpoint m = DistConfig.parseMaster(master);
        String gloo = iface != null ? iface : System.getenv("GLOO_SOCKET_IFNAME");
        return new DistConfig(worldSize, rank, m.host(), m.port(), Duration.ofSeconds(timeoutSeconds),
                Math.max(1024, (long) (bucketMb * (1 << 20))), gloo);
    }
}
