package org.diffusion4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.imageio.ImageIO;
import org.diffusion4j.tensor.Autocast;
import org.diffusion4j.testing.Shared;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class QuickstartCommandTest {
    @TempDir
    Path dir;

    @Test
    void trainsWithinItsBudgetAndWritesDigits() throws IOException {
        Path out = dir.resolve("quick");
        MainTest.Run r = MainTest.run("quickstart", "mnist", "--max-steps", "3", "--out-dir", out.toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("(293041 parameters) for 3 steps", "sampled 64 images with dpm++3m-sde-30");
        // auto precision: on a CPU with bf16 units, whichever the timing probe found faster; else fp32.
        if (Autocast.nativeBf16()) {
            Matcher m = Pattern.compile("precision auto: (\\d+) ms per fp32 step, "
                    + "(\\d+) ms per bf16 step; training in (fp32|bf16)").matcher(r.err());
            assertThat(m.find()).as(r.err()).isTrue();
            boolean bf16 = m.group(3).equals("bf16");
            assertThat(bf16).isEqualTo(Integer.parseInt(m.group(2)) < Integer.parseInt(m.group(1))
                    || (bf16 && m.group(1).equals(m.group(2))));
            assertThat(r.out()).contains(bf16 ? "; bf16 autocast;" : "; fp32;");
        } else {
            assertThat(r.err()).doesNotContain("precision auto:");
            assertThat(r.out()).contains("; fp32;");
        }
        assertThat(out.resolve("mnist.json")).content().contains("\"min_snr_gamma\" : 5.0");
        assertThat(ImageIO.read(out.resolve("digits.png").toFile()).getWidth()).isEqualTo(8 * (28 * 2 + 2) + 2);
        // A second run into the same folder refuses to overwrite the checkpoint.
        MainTest.Run again = MainTest.run("quickstart", "mnist", "--max-steps", "1", "--out-dir", out.toString());
        assertThat(again.code()).isEqualTo(1);
        assertThat(again.err()).contains("already exists");
    }

    @Test
    void trainsOnFashionMnistToo() {
        Path out = dir.resolve("fashion");
        MainTest.Run r = MainTest.run("quickstart", "fashion-mnist", "--max-steps", "2", "--precision", "FP32",
                "--out-dir", out.toString(),
                "--data-dir", Shared.fashionMnist().toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(out.resolve("clothes.png")).isRegularFile();
        assertThat(out.resolve("fashion-mnist.json")).content().contains("\"data\" : \"fashion-mnist\"",
                "\"bf16\" : false");
    }

    @Test
    void rejectsOtherDatasetsAndBudgets() {
        MainTest.Run cifar = MainTest.run("quickstart", "cifar");
        assertThat(cifar.code()).isEqualTo(1);
        assertThat(cifar.err()).contains("DATASET: unknown image dataset 'cifar'");
        MainTest.Run budget = MainTest.run("quickstart", "mnist", "--minutes", "0");
        assertThat(budget.err()).contains("--minutes must be > 0");
        MainTest.Run precision = MainTest.run("quickstart", "mnist", "--precision", "fp8");
        assertThat(precision.code()).isEqualTo(2);
        assertThat(precision.err()).contains("--precision", "expected auto, fp32 or bf16, got 'fp8'");
    }
}
