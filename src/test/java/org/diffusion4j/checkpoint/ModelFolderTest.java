package org.diffusion4j.checkpoint;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelFolderTest {
    @TempDir
    Path dir;

    @Test
    void namesTheMissingFileAndRefusesPickles() throws Exception {
        assertThatThrownBy(() -> ModelFolder.require(dir, "w.safetensors", "w.bin", "a model"))
                .hasMessageContaining("config.json: missing (a model needs config.json and w.safetensors)");
        Files.writeString(dir.resolve("config.json"), "{}");
        assertThatThrownBy(() -> ModelFolder.require(dir, "w.safetensors", "w.bin", "a model"))
                .hasMessageContaining("w.safetensors: missing");
        Files.writeString(dir.resolve("w.bin"), "x");
        assertThatThrownBy(() -> ModelFolder.require(dir, "w.safetensors", "w.bin", "a model"))
                .hasMessageContaining("only w.bin (a pickle) is present");
        Files.writeString(dir.resolve("w.safetensors"), "x");
        ModelFolder.require(dir, "w.safetensors", "w.bin", "a model");
    }
}
