package org.diffusion4j.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class InspectCommandTest {
    @TempDir
    Path dir;

    @Test
    void listsTheTensorsAndTheVerifiedSidecarOfACheckpoint() {
        Path ck = dir.resolve("m.safetensors");
        MainTest.Run train = MainTest.run("train", "--data", "two-moons", "--hidden", "16", "--steps", "2",
                "--batch-size", "8", "--out", ck.toString());
        assertThat(train.code()).as(train.err()).isZero();
        MainTest.Run r = MainTest.run("inspect", ck.toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("in_proj.weight").contains("total:");
    }

    /** A missing file, a directory and a FIFO are each refused with the path and the reason; the FIFO never blocks. */
    @Test
    void namesThePathAndWhatIsWrongWithIt() throws Exception {
        MainTest.Run missing = MainTest.run("inspect", dir.resolve("missing.safetensors").toString());
        assertThat(missing.code()).isEqualTo(1);
        assertThat(missing.err()).contains("error: " + dir.resolve("missing.safetensors") + ": no such file");
        Path folder = Files.createDirectory(dir.resolve("folder.safetensors"));
        assertThat(MainTest.run("inspect", folder.toString()).err())
                .contains("error: " + folder + ": is a directory, not a safetensors file");
        Path fifo = dir.resolve("pipe.safetensors");
        Process mk = new ProcessBuilder("mkfifo", fifo.toString()).start();
        assertThat(mk.waitFor()).as("mkfifo").isZero();
        MainTest.Run pipe = assertTimeoutPreemptively(Duration.ofSeconds(60),
                () -> MainTest.run("inspect", fifo.toString()));
        assertThat(pipe.err()).contains("error: " + fifo + ": not a regular file (a pipe, socket or device)");
        MainTest.Run sample = assertTimeoutPreemptively(Duration.ofSeconds(60),
                () -> MainTest.run("sample", "--checkpoint", fifo.toString(), "--out", dir.resolve("s.png").toString()));
        assertThat(sample.err()).contains(fifo + ": not a regular file");
    }
}
