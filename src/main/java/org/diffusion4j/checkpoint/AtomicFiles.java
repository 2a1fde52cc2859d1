package org.diffusion4j.checkpoint;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Crash-safe writes: the content goes to a temp file beside the target, is fsynced, then renamed over the target, and
 * the directory is fsynced. A reader sees the old file or the new one, never a half-written one.
 */
public final class AtomicFiles {
    /** Temp files start with this, so leftovers from a crash are recognisable. */
    public static final String TEMP_PREFIX = ".d4j-tmp-";

    private AtomicFiles() {}

    /** Writes what {@code body} produces. */
    @FunctionalInterface
    public interface Body {
        void write(FileChannel channel) throws IOException;
    }

    /** Writes {@code target} atomically. On any failure the target is untouched and the temp file removed. */
    public static void write(Path target, Body body) throws IOException {
        Path abs = target.toAbsolutePath();
        Path dir = abs.getParent();
        if (dir == null || !Files.isDirectory(dir)) {
            throw new IOException(target + ": directory " + dir + " does not exist");
        }
        Path tmp = dir.resolve(TEMP_PREFIX + abs.getFileName() + "-"
                + Long.toHexString(ThreadLocalRandom.current().nextLong()));
        boolean done = false;
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                body.write(ch);
                ch.force(true);
            }
            try {
                Files.move(tmp, abs, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                throw new IOException(target + ": the file system cannot rename atomically", e);
            }
            done = true;
            fsyncDirectory(dir);
        } catch (IOException e) {
            if (!done) {
                Files.deleteIfExists(tmp);
            }
            throw new IOException(target + ": write failed: " + e.getMessage(), e);
        } finally {
            if (!done) {
                Files.deleteIfExists(tmp);
            }
        }
    }

    /** Writes {@code bytes} to {@code target} atomically. */
    public static void write(Path target, byte[] bytes) throws IOException {
        write(target, ch -> {
            java.nio.ByteBuffer buf = java.nio.ByteBuffer.wrap(bytes);
            while (buf.hasRemaining()) {
                ch.write(buf);
            }
        });
    }

    private static void fsyncDirectory(Path dir) {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException ignored) {
            // Some file systems refuse to open directories; the rename itself is still atomic there.
        }
    }
}
