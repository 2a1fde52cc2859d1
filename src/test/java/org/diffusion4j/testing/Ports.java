package org.diffusion4j.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;

/** Loopback ports for tests that start rendezvous servers. */
public final class Ports {
    private Ports() {}

    /** A port that was free a moment ago (the OS hands out ephemeral ports round-robin, so reuse is unlikely). */
    public static int free() {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
