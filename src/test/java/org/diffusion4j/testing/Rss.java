package org.diffusion4j.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** The process' resident set size, from /proc (Linux). */
public final class Rss {
    private Rss() {}

    /** Resident bytes now. */
    public static long bytes() {
        try {
            String[] f = Files.readString(Path.of("/proc/self/statm")).trim().split("\\s+");
            return Long.parseLong(f[1]) * 4096L;
        } catch (IOException e) {
            throw new IllegalStateException("cannot read /proc/self/statm", e);
        }
    }
}
