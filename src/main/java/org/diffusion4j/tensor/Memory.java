package org.diffusion4j.tensor;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * How much memory this process may still take, to refuse up front what cannot fit: tensors live in native memory,
 * outside the Java heap, so the JVM's own limits say nothing about them.
 */
public final class Memory {
    private Memory() {}

    /**
     * Bytes available: the kernel's MemAvailable, lowered to the cgroup's remaining limit when there is one; the
     * JVM's view of free physical memory where /proc is missing.
     */
    public static long available() {
        long avail = meminfo("MemAvailable:");
        if (avail < 0) {
            java.lang.management.OperatingSystemMXBean os = ManagementFactory
                    .getOperatingSystemMXBean();
            avail = os instanceof com.sun.management.OperatingSystemMXBean sun ? sun.getFreeMemorySize()
                    : Long.MAX_VALUE;
        }
        long max = number(Path.of("/sys/fs/cgroup/memory.max"));
        long current = number(Path.of("/sys/fs/cgroup/memory.current"));
        if (max > 0 && current >= 0) {
            avail = Math.min(avail, Math.max(0, max - current));
        }
        return avail;
    }

    /**
     * Refuses work that needs more than is available.
     *
     * @param bytes what the work needs (an estimate; saturated values mean "more than a long counts")
     * @param what  what needs it, e.g. "loading x.safetensors"
     * @param lower what the user can change to need less, or null
     * @throws IllegalArgumentException naming both amounts
     */
    public static void require(long bytes, String what, String lower) {
        long avail = available();
        if (bytes > avail) {
            throw new IllegalArgumentException(what + " needs about " + format(bytes) + " of memory but " + format(avail)
                    + " is available" + (lower == null ? "" : "; " + lower));
        }
    }

    /** "1.5 GiB", "12 MiB"; "more than 8 EiB" for saturated values. */
    public static String format(long bytes) {
        if (bytes == Long.MAX_VALUE) {
            return "more than 8 EiB";
        }
        String[] units = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
        double v = bytes;
        int u = 0;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return (u == 0 || v >= 100 ? String.format(Locale.ROOT, "%.0f", v) : String.format(Locale.ROOT, "%.1f", v))
                + " " + units[u];
    }

    private static long meminfo(String key) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
                if (line.startsWith(key)) {
                    return Long.parseLong(line.substring(key.length()).replace("kB", "").strip()) * 1024;
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux, or an unexpected layout: fall back
        }
        return -1;
    }

    private static long number(Path file) {
        try {
            String s = Files.readString(file).strip();
            return s.equals("max") ? -1 : Long.parseLong(s);
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }
}
