package org.diffusion4j.data;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.time.Instant;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Files whose checksum matched in this JVM, so that loading a dataset again does not hash it again. A file is known by
 * its path, size, modification time and file key (inode), together with the checksum it matched.
 */
final class VerifiedFiles {
    /**
     * How long before a check a file must have last changed to be remembered. File systems stamp times from a coarse
     * clock (milliseconds on ext4, two seconds on FAT), so a file written again right after its check can keep the same
     * stamp; like git's "racily clean" rule, recently changed files are checked every time.
     */
    static final Duration SETTLED = Duration.ofSeconds(3);

    private static final Set<String> KNOWN = ConcurrentHashMap.newKeySet();

    /** A check of one file's content. */
    @FunctionalInterface
    interface Check {
        void run() throws IOException;
    }

    private VerifiedFiles() {}

    /**
     * Runs {@code check} unless {@code file}, unchanged and settled, already passed it against {@code expected} in this
     * JVM.
     */
    static void checkOnce(Path file, String expected, Check check) throws IOException {
        Instant started = Instant.now();
        BasicFileAttributes before = Files.readAttributes(file, BasicFileAttributes.class);
        String stamp = stamp(file, expected, before);
        if (KNOWN.contains(stamp)) {
            return;
        }
        check.run();
        boolean settled = before.lastModifiedTime().toInstant().isBefore(started.minus(SETTLED));
        BasicFileAttributes after = Files.readAttributes(file, BasicFileAttributes.class);
        if (settled && stamp.equals(stamp(file, expected, after))) {
            KNOWN.add(stamp);
        }
    }

    private static String stamp(Path file, String expected, BasicFileAttributes a) {
        return file.toAbsolutePath().normalize() + "@" + a.size() + "@" + a.lastModifiedTime() + "@" + a.fileKey() + "@"
                + expected;
    }
}
