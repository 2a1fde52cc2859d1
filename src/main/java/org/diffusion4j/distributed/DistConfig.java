package org.diffusion4j.distributed;

import java.time.Duration;

/**
 * Where this process sits in a data-parallel job.
 *
 * @param worldSize   processes in the job (1 = not distributed)
 * @param rank        this process, in [0, worldSize); rank 0 hosts the rendezvous store and writes checkpoints
 * @param masterHost  the host running rank 0, which every rank can reach
 * @param masterPort  the rendezvous port on {@code masterHost} (Gloo's own connections use ephemeral ports)
 * @param timeout     how long any collective, and the rendezvous, may wait for a peer before failing; a peer that
 *                    dies is noticed sooner, when its connections close
 * @param bucketBytes gradients are all-reduced in buckets of about this many bytes, each in flight while the next
 *                    is packed (PyTorch DDP's default is 25 MiB)
 * @param iface       the network interface Gloo binds to (as GLOO_SOCKET_IFNAME), or null to use the address this
 *                    host's name resolves to (127.0.0.1 when the master is a loopback address)
 */
public record DistConfig(int worldSize, int rank, String masterHost, int masterPort, Duration timeout,
                         long bucketBytes, String iface) {
    /** PyTorch DDP's bucket size. */
    public static final long DEFAULT_BUCKET_BYTES = 25L << 20;
    /** Long enough for a checkpoint save on rank 0 while the others wait at the next collective. */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofMinutes(10);

    public DistConfig {
        if (worldSize < 1) {
            throw new IllegalArgumentException("--world-size must be >= 1, got " + worldSize);
        }
        if (rank < 0 || rank >= worldSize) {
            throw new IllegalArgumentException("--rank must be in [0, " + worldSize + "), got " + rank);
        }
        if (worldSize > 1) {
            if (masterHost == null || masterHost.isBlank()) {
                throw new IllegalArgumentException("--master must name rank 0's host and port (e.g. 10.0.0.1:29500)");
            }
            new Endpoint(masterHost, masterPort);
        }
        if (timeout == null || timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("--dist-timeout must be > 0, got " + timeout);
        }
        if (bucketBytes < 1024) {
            throw new IllegalArgumentException("gradient bucket size must be >= 1024 bytes, got " + bucketBytes);
        }
        if (iface != null && iface.isBlank()) {
            throw new IllegalArgumentException("--gloo-interface must not be blank");
        }
    }

    /** One process on its own. */
    public static DistConfig single() {
        return new DistConfig(1, 0, null, 0, DEFAULT_TIMEOUT, DEFAULT_BUCKET_BYTES, null);
    }

    /** A {@code HOST:PORT} address. */
    public record Endpoint(String host, int port) {
        public Endpoint {
            if (port < 1 || port > 65535) {
                throw new IllegalArgumentException("--master port must be in [1, 65535], got " + port);
            }
        }
    }

    /** Parses {@code HOST:PORT} (an IPv6 host in brackets: {@code [::1]:29500}). */
    public static Endpoint parseMaster(String spec) {
        if (spec == null) {
            throw new IllegalArgumentException("--master is required with --world-size > 1 (HOST:PORT of rank 0)");
        }
        int colon = spec.lastIndexOf(':');
        if (colon <= 0 || colon == spec.length() - 1) {
            throw new IllegalArgumentException("--master must be HOST:PORT, got '" + spec + "'");
        }
        String host = spec.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        int port;
        try {
            port = Integer.parseInt(spec.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--master port must be a number, got '" + spec + "'");
        }
        return new Endpoint(host, port);
    }

    public boolean distributed() {
        return worldSize > 1;
    }

    boolean loopbackMaster() {
        return masterHost != null && (masterHost.equals("localhost") || masterHost.startsWith("127.")
                || masterHost.equals("::1"));
    }
}
