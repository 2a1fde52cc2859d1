package org.diffusion4j.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SampleOutputTest {
    @TempDir
    Path dir;

    @Test
    void refusesOutputsThatWouldReplaceFilesOrInputs() throws Exception {
        Path taken = Files.writeString(dir.resolve("taken.png"), "x");
        assertThatThrownBy(() -> SampleOutput.grid(taken).check()).hasMessageContaining("taken.png");
        new SampleOutput(taken, SampleOutput.Format.GRID, null, null, true).check();
        assertThatThrownBy(() -> new SampleOutput(taken, SampleOutput.Format.GRID, null, null, true).check(taken))
                .hasMessageContaining("taken.png");
        assertThatThrownBy(() -> SampleOutput.grid(dir.resolve("grid.jpg")).check()).hasMessageContaining(".png");
        assertThatThrownBy(() -> new SampleOutput(taken, SampleOutput.Format.PNG, null, null, false).check())
                .hasMessageContaining("is a file; --format png writes a folder");
        Path folder = Files.createDirectories(dir.resolve("pngs"));
        Files.writeString(folder.resolve("a.png"), "x");
        assertThatThrownBy(() -> new SampleOutput(folder, SampleOutput.Format.PNG, null, null, false).check())
                .hasMessageContaining("is not empty; pass --overwrite");
        assertThatThrownBy(() -> new SampleOutput(dir.resolve("g.png"), SampleOutput.Format.GRID, null,
                dir.resolve("t.png"), false).check()).hasMessageContaining("--gif").hasMessageContaining(".gif");
        assertThat(Files.list(dir)).hasSize(2);
    }

    @Test
    void refusesOutputsTheSamplesCannotFill() {
        SampleOutput pngs = new SampleOutput(dir.resolve("p"), SampleOutput.Format.PNG, null, null, false);
        SampleOutput gif = new SampleOutput(dir.resolve("g.png"), SampleOutput.Format.GRID, null,
                dir.resolve("g.gif"), false);
        SampleOutput grid = SampleOutput.grid(dir.resolve("g.png"));
        assertThatThrownBy(() -> pngs.requireSuits("two-moons", false)).hasMessageContaining("two-moons is 2-D data");
        assertThatThrownBy(() -> gif.requireSuits("two-moons", false)).hasMessageContaining("--gif is for image");
        assertThatThrownBy(() -> gif.requireSuits("waveforms", false)).hasMessageContaining("1-D signal data");
        assertThatThrownBy(() -> grid.requireSuits("two-moons", true)).hasMessageContaining("--class all");
        assertThatThrownBy(() -> pngs.requireSuits("mnist", true)).hasMessageContaining("--class all");
        grid.requireSuits("mnist", true);
        pngs.requireSuits("mnist", false);
        gif.requireSuits("mnist", false);
    }
}
