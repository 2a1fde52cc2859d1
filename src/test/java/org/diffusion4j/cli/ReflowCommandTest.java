package org.diffusion4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ReflowCommandTest {
    private static final Pattern SWD = Pattern.compile("sliced-W2 ([0-9.]+)");

    @TempDir
    Path dir;

    private double oneStepSwd(Path ck) {
        MainTest.Run r = MainTest.run("sample", "--checkpoint", ck.toString(), "--sampler", "euler", "--sampler-steps",
                "1", "--out", dir.resolve(ck.getFileName() + ".png").toString());
        assertThat(r.code()).as(r.err()).isZero();
        Matcher m = SWD.matcher(r.out());
        assertThat(m.find()).as(r.out()).isTrue();
        return Double.parseDouble(m.group(1));
    }

    /** Reflow straightens the paths: one Euler step lands far closer to the data afterwards. */
    @Test
    void straightensTheFlowSoOneStepSamplingWorks() {
        Path flow = dir.resolve("flow.safetensors");
        MainTest.Run train = MainTest.run("train", "--prediction", "flow", "--steps", "1000", "--out", flow.toString());
        assertThat(train.code()).as(train.err()).isZero();
        Path reflowed = dir.resolve("reflow.safetensors");
        MainTest.Run r = MainTest.run("reflow", "--checkpoint", flow.toString(), "--pairs", "4000", "--steps", "600",
                "--sampler-steps", "50", "--out", reflowed.toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("made 4000 pairs with euler-50", "trained 600 steps on them");
        double before = oneStepSwd(flow);
        double after = oneStepSwd(reflowed);
        System.out.printf("one-step Euler sliced-W2: %.4f before reflow, %.4f after%n", before, after);
        assertThat(after).isLessThan(before / 3);
        Path eps = dir.resolve("eps.safetensors");
        assertThat(MainTest.run("train", "--data", "two-moons", "--steps", "2", "--out", eps.toString()).code())
                .isZero();
        MainTest.Run ddpm = MainTest.run("reflow", "--checkpoint", eps.toString(), "--out",
                dir.resolve("x.safetensors").toString());
        assertThat(ddpm.err()).contains("reflow needs a flow-matching model");
        MainTest.Run ancestral = MainTest.run("reflow", "--checkpoint", flow.toString(), "--sampler", "euler-a",
                "--out", dir.resolve("y.safetensors").toString());
        assertThat(ancestral.err()).contains("deterministic ODE sampler");
    }
}
