package org.diffusion4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DemoCommandTest {
    private static final Pattern QUALITY = Pattern.compile(
            "sliced-W2 ([0-9.]+) \\(real-data floor ([0-9.]+)\\)  MMD\\^2 (-?[0-9.]+)");

    @TempDir
    Path dir;

    /**
     * Flow matching on the default demo reaches the bound the 1000-step DDPM demo meets (MainTest) with 50 Euler
     * steps, 20 times fewer network evaluations.
     */
    @Test
    void flowMatchingMeetsTheDdpmQualityBoundInFiftySteps() {
        MainTest.Run r = MainTest.run("demo", "--prediction", "flow", "--out-dir", dir.resolve("flow").toString());
        assertThat(r.code()).as(r.err()).isZero();
        System.out.println(r.out());
        assertThat(r.out()).contains("sampled 2000 points with euler-50");
        Matcher m = QUALITY.matcher(r.out());
        assertThat(m.find()).as(r.out()).isTrue();
        double swd = Double.parseDouble(m.group(1));
        double floor = Double.parseDouble(m.group(2));
        assertThat(swd).as("sliced W2 vs 1.5 x floor").isLessThanOrEqualTo(1.5 * floor);
        assertThat(Double.parseDouble(m.group(3))).as("MMD^2").isLessThanOrEqualTo(0.005);
        // Flow models have no DDPM schedule to walk.
        MainTest.Run ddpm = MainTest.run("sample", "--checkpoint", dir.resolve("flow").resolve("model.safetensors")
                .toString(), "--sampler", "ddpm", "--out", dir.resolve("x.png").toString());
        assertThat(ddpm.code()).isEqualTo(1);
        assertThat(ddpm.err()).contains("ddpm walks a DDPM schedule; flow-matching models sample with euler");
        MainTest.Run heun = MainTest.run("sample", "--checkpoint", dir.resolve("flow").resolve("model.safetensors")
                .toString(), "--sampler", "heun", "--sampler-steps", "25", "--out", dir.resolve("h.png").toString());
        assertThat(heun.code()).as(heun.err()).isZero();
        Matcher h = QUALITY.matcher(heun.out());
        assertThat(h.find()).isTrue();
        assertThat(Double.parseDouble(h.group(1))).as("heun-25 sliced W2").isLessThanOrEqualTo(1.5 * floor);
    }
}
