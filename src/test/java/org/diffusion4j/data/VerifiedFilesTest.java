package org.diffusion4j.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class VerifiedFilesTest {
    @TempDir
    Path dir;

    private static Path aged(Path file, String content, long secondsAgo) throws IOException {
        Files.writeString(file, content);
        Files.setLastModifiedTime(file, FileTime.from(Instant.now().minusSeconds(secondsAgo)));
        return file;
    }

    @Test
    void aSettledFileThatPassedIsNotCheckedAgain() throws IOException {
        Path f = aged(dir.resolve("a"), "abc", 3600);
        AtomicInteger checks = new AtomicInteger();
        VerifiedFiles.checkOnce(f, "sum", checks::incrementAndGet);
        VerifiedFiles.checkOnce(f, "sum", checks::incrementAndGet);
        assertThat(checks).hasValue(1);
        VerifiedFiles.checkOnce(f, "other sum", checks::incrementAndGet);
        assertThat(checks).hasValue(2);
    }

    @Test
    void aFileChangedJustBeforeItsCheckIsCheckedEveryTime() throws IOException {
        // Rewritten within the clock's granularity, the same size and time stamp would hide the change.
        Path f = dir.resolve("fresh");
        Files.writeString(f, "abc");
        AtomicInteger checks = new AtomicInteger();
        VerifiedFiles.checkOnce(f, "sum", checks::incrementAndGet);
        VerifiedFiles.checkOnce(f, "sum", checks::incrementAndGet);
        assertThat(checks).hasValue(2);
    }

    @Test
    void aFailedCheckIsNotRememberedAndAChangedFileIsCheckedAgain() throws IOException {
        Path f = aged(dir.resolve("b"), "abc", 3600);
        AtomicInteger checks = new AtomicInteger();
        assertThatThrownBy(() -> VerifiedFiles.checkOnce(f, "sum", () -> {
            checks.incrementAndGet();
            throw new IOException("b: damaged");
        })).hasMessage("b: damaged");
        VerifiedFiles.checkOnce(f, "sum", checks::incrementAndGet);
        assertThat(checks).hasValue(2);
        aged(f, "abcd", 1800);
        VerifiedFiles.checkOnce(f, "sum", checks::incrementAndGet);
        assertThat(checks).hasValue(3);
    }
}
