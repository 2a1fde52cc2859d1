package org.diffusion4j.checkpoint;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OutputLockTest {
    @TempDir
    Path dir;

    @Test
    void aLiveHolderKeepsOthersOutUntilItReleases() throws Exception {
        Path out = dir.resolve("m.safetensors");
        Path lockFile = OutputLock.lockFileOf(out);
        try (OutputLock first = OutputLock.acquire(out, "--out")) {
            assertThat(Files.readString(lockFile)).startsWith("process " + ProcessHandle.current().pid() + " started ");
            assertThatThrownBy(() -> OutputLock.acquire(out, "--out")).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("--out " + out + " is being written by process "
                            + ProcessHandle.current().pid() + " (started ")
                    .hasMessageContaining("wait for it to finish or choose another --out");
        }
        assertThat(lockFile).doesNotExist();
        OutputLock.acquire(out, "--out").close();
    }

    /** A writer that died (kill -9) left its lock: a process that is gone, or garbage, does not hold it. */
    @Test
    void aStaleLockIsTakenOver() throws Exception {
        Path out = dir.resolve("m.safetensors");
        Process gone = new ProcessBuilder("true").start();
        String dead = OutputLock.describe(gone.toHandle());
        gone.waitFor();
        for (String stale : new String[] {dead, "process 1 started 1970-01-01T00:00:00Z", "garbage"}) {
            Files.writeString(OutputLock.lockFileOf(out), stale + "\n");
            assertThat(OutputLock.alive(stale)).as(stale).isFalse();
            try (OutputLock taken = OutputLock.acquire(out, "--out")) {
                assertThat(Files.readString(OutputLock.lockFileOf(out)))
                        .startsWith("process " + ProcessHandle.current().pid());
            }
        }
    }
}
