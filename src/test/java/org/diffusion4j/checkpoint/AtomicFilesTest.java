package org.diffusion4j.checkpoint;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AtomicFilesTest {
    @TempDir
    Path dir;

    @Test
    void replacesTheTargetOnlyWhenTheWriteCompletes() throws IOException {
        Path f = dir.resolve("out.bin");
        AtomicFiles.write(f, new byte[] {1, 2, 3});
        assertThat(Files.readAllBytes(f)).containsExactly(1, 2, 3);
        assertThatThrownBy(() -> AtomicFiles.write(f, ch -> {
            ch.write(ByteBuffer.wrap(new byte[] {9, 9}));
            throw new IOException("disk full");
        })).hasMessageContaining(f.toString()).hasMessageContaining("disk full");
        assertThat(Files.readAllBytes(f)).containsExactly(1, 2, 3);
        try (var files = Files.list(dir)) {
            assertThat(files.map(p -> p.getFileName().toString())).containsExactly("out.bin");
        }
    }

    @Test
    void refusesAMissingDirectory() {
        assertThatThrownBy(() -> AtomicFiles.write(dir.resolve("no/such/file"), new byte[1]))
                .hasMessageContaining("does not exist");
    }
}
