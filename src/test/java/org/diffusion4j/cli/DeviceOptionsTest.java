package org.diffusion4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.bytedeco.pytorch.global.torch;
import org.diffusion4j.tensor.Torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DeviceOptionsTest {
    @TempDir
    Path dir;

    /** Every command that places a model on a device checks --device before doing any work or writing anything. */
    @Test
    void anUnknownOrMissingDeviceFailsFirstNamingTheOption() throws IOException {
        Torch.init();
        boolean cuda = torch.cuda_is_available();
        Path ck = dir.resolve("m.safetensors");
        String[][] commands = {
            {"train", "--data", "two-moons", "--steps", "5", "--out", ck.toString()},
            {"sample", "--out", dir.resolve("s.png").toString()},
            {"quickstart", "mnist", "--minutes", "0.1", "--out-dir", dir.resolve("q").toString()},
            {"eval", "--checkpoint", "models/mnist-unet.safetensors", "--json", dir.resolve("e.json").toString()},
            {"reflow", "--checkpoint", "models/mnist-unet.safetensors", "--out", dir.resolve("r.safetensors").toString()},
            {"class-accuracy", "--checkpoint", "models/mnist-unet.safetensors"},
            {"serve", "--port", "0"},
        };
        for (String[] command : commands) {
            String[] bad = append(command, "--device", "tpu");
            MainTest.Run r = MainTest.run(bad);
            assertThat(r.code()).as(String.join(" ", bad)).isNotZero();
            assertThat(r.err()).as(command[0]).contains("--device: unknown device 'tpu' (use cpu, cuda or cuda:N)");
            if (!cuda) {
                MainTest.Run g = MainTest.run(append(command, "--device", "cuda"));
                assertThat(g.code()).as(command[0]).isNotZero();
                assertThat(g.err()).as(command[0]).contains("--device cuda:0: CUDA is not available")
                        .contains("mvn -Pgpu package");
            }
        }
        try (var files = Files.list(dir)) {
            assertThat(files.toList()).as("nothing written").isEmpty();
        }
    }

    private static String[] append(String[] a, String... more) {
        String[] out = Arrays.copyOf(a, a.length + more.length);
        System.arraycopy(more, 0, out, a.length, more.length);
        return out;
    }
}
