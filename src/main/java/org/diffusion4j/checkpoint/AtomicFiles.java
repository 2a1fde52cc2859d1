package org.diffusion4j.checkpoint;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Stream;

/**
 * Crash-safe writes: the content goes to a temp file beside the target, is fsynced, then renamed over the target, and
 * the directory is fsynced. A reader sees the old file or the new one, never a half-written one.
 *
 * <p>Temp files are named {@code .d4j-tmp-PID-RANDOM-TARGETNAME}, so that leftovers of a killed process can be told
 * from the files a live writer is still producing ({@link #leftovers}), and cleaned up or finished
 * ({@link Checkpoint#recover}).
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

    /**
     * A complete, fsynced temp file waiting to be renamed over its target. Closing without {@link #commit} deletes
     * it; after a commit, close does nothing.
     */
    public static final class Staged implements AutoCloseable {
        private final Path temp;
        private final Path target;
        private boolean committed;

        private Staged(Path temp, Path target) {
            this.temp = temp;
            this.target = target;
        }

        /** The temp file, complete and on disk. */
        public Path temp() {
            return temp;
        }

        /** Renames the temp file over the target atomically and fsyncs the directory. */
        public void commit() throws IOException {
            if (committed) {
                throw new IllegalStateException(target + ": already committed");
            }
            try {
                Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                throw new IOException(target + ": the file system cannot rename atomically", e);
            } catch (IOException e) {
                throw new IOException(target + ": write failed: " + e.getMessage(), e);
            }
            committed = true;
            fsyncDirectory(target.getParent());
        }

        @Override
        public void close() throws IOException {
            if (!committed) {
                Files.deleteIfExists(temp);
            }
        }
    }

    /**
     * Writes {@code body}'s output to a fsynced temp file beside {@code target}, without touching the target. On
     * failure (a full disk, say) the temp file is removed and the target is untouched.
     */
    public static Staged stage(Path target, Body body) throws IOException {
        Path abs = target.toAbsolutePath();
        Path dir = abs.getParent();
        if (dir == null || !Files.isDirectory(dir)) {
            throw new IOException(target + ": directory " + dir + " does not exist");
        }
        Path tmp = tempSibling(abs);
        boolean written = false;
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                body.write(ch);
                ch.force(true);
            }
            written = true;
            return new Staged(tmp, abs);
        } catch (IOException e) {
            throw new IOException(target + ": write failed: " + e.getMessage(), e);
        } finally {
            if (!written) {
                Files.deleteIfExists(tmp);
            }
        }
    }

    /** Writes {@code target} atomically. On any failure the target is untouched and the temp file removed. */
    public static void write(Path target, Body body) throws IOException {
        try (Staged s = stage(target, body)) {
            s.commit();
        }
    }

    /** Writes {@code bytes} to {@code target} atomically. */
    public static void write(Path target, byte[] bytes) throws IOException {
        write(target, bytes(bytes));
    }

    /** A body writing {@code bytes}. */
    public static Body bytes(byte[] bytes) {
        return ch -> {
            ByteBuffer buf = ByteBuffer.wrap(bytes);
            while (buf.hasRemaining()) {
                ch.write(buf);
            }
        };
    }

    /**
     * A fresh temp name beside {@code target} (absolute) in this class's convention, which {@link #leftovers} and
     * {@link #targetName} read: the prefix, this process's id, a random part, the target's name.
     */
    public static Path tempSibling(Path target) {
        return target.getParent().resolve(TEMP_PREFIX + ProcessHandle.current().pid() + "-"
                + Long.toHexString(ThreadLocalRandom.current().nextLong() >>> 1) + "-" + target.getFileName());
    }

    /** Deletes a folder and everything in it; nothing when it does not exist. */
    public static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    /** Temp files in {@code dir} left by processes that no longer run (none of this process's). */
    public static List<Path> leftovers(Path dir) throws IOException {
        List<Path> out = new ArrayList<>();
        if (!Files.isDirectory(dir)) {
            return out;
        }
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.sorted().toList()) {
                long pid = ownerPid(f.getFileName().toString());
                if (pid > 0 && pid != ProcessHandle.current().pid() && ProcessHandle.of(pid).isEmpty()) {
                    out.add(f);
                }
            }
        }
        return out;
    }

    /** The file a leftover temp was meant to become, e.g. {@code model.json}; null if {@code temp} is not one. */
    public static String targetName(Path temp) {
        String name = temp.getFileName().toString();
        if (ownerPid(name) < 0) {
            return null;
        }
        String rest = name.substring(TEMP_PREFIX.length());
        int first = rest.indexOf('-');
        int second = rest.indexOf('-', first + 1);
        return second < 0 ? null : rest.substring(second + 1);
    }

    /** The writer's pid from a temp name, or -1 when {@code name} is not a temp name. */
    private static long ownerPid(String name) {
        if (!name.startsWith(TEMP_PREFIX)) {
            return -1;
        }
        String rest = name.substring(TEMP_PREFIX.length());
        int dash = rest.indexOf('-');
        if (dash <= 0) {
            return -1;
        }
        try {
            return Long.parseLong(rest.substring(0, dash));
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    private static void fsyncDirectory(Path dir) {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException ignored) {
            // Some file systems refuse to open directories; the rename itself is still atomic there.
        }
    }
}
