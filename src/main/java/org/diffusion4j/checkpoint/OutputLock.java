package org.diffusion4j.checkpoint;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A lock file {@code OUT.lock} beside an output that a long job writes (a training run's checkpoint), holding the
 * writer's PID and start time. A second job for the same output is refused while the writer lives; a lock left by a
 * crashed writer (its process gone, or the PID now another process's) is stale and taken over.
 */
public final class OutputLock implements AutoCloseable {
    private final Path file;
    private final String owner;

    private OutputLock(Path file, String owner) {
        this.file = file;
        this.owner = owner;
    }

    /** {@code a/m.safetensors} -> {@code a/m.safetensors.lock}. */
    public static Path lockFileOf(Path output) {
        return output.resolveSibling(output.getFileName() + ".lock");
    }

    /**
     * Takes the lock on {@code output}.
     *
     * @param option the CLI option naming the output, for the message
     * @throws IllegalStateException if a live process holds it
     */
    public static OutputLock acquire(Path output, String option) throws IOException {
        Path lock = lockFileOf(output.toAbsolutePath().normalize());
        Files.createDirectories(lock.getParent());
        String me = describe(ProcessHandle.current());
        for (int attempt = 0; attempt < 3; attempt++) {
            try {
                Files.writeString(lock, me + "\n", StandardCharsets.UTF_8, StandardOpenOption.CREATE_NEW,
                        StandardOpenOption.WRITE);
                return new OutputLock(lock, me);
            } catch (FileAlreadyExistsException held) {
                String holder;
                try {
                    holder = Files.readString(lock, StandardCharsets.UTF_8).strip();
                } catch (NoSuchFileException released) {
                    continue;
                }
                if (alive(holder)) {
                    throw new IllegalStateException(option + " " + output + " is being written by "
                            + holder.replaceFirst(" started ", " (started ") + ")" + "; wait for it to finish or choose "
                            + "another " + option + " (lock: " + lock + ")");
                }
                // The writer is gone: the lock is stale. Deleting and retrying keeps two takers from both winning.
                Files.deleteIfExists(lock);
            }
        }
        throw new IOException(lock + ": could not take the lock (it kept changing hands)");
    }

    /** "process PID started INSTANT", the holder's identity. */
    static String describe(ProcessHandle p) {
        return "process " + p.pid() + " started " + p.info().startInstant().map(Instant::toString).orElse("?");
    }

    /** True when the lock's content names a process that still runs (same PID and start time). */
    static boolean alive(String holder) {
        Matcher m = Pattern.compile("process (\\d+) started (\\S+)").matcher(holder);
        if (!m.matches()) {
            return false;
        }
        Optional<ProcessHandle> p = ProcessHandle.of(Long.parseLong(m.group(1)));
        return p.isPresent() && p.get().isAlive() && describe(p.get()).equals(holder);
    }

    /** Releases the lock if this process still holds it. */
    @Override
    public void close() throws IOException {
        try {
            if (Files.readString(file, StandardCharsets.UTF_8).strip().equals(owner)) {
                Files.delete(file);
            }
        } catch (NoSuchFileException gone) {
            // released already
        }
    }
}
