package org.diffusion4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ClassAccuracyCommandTest {
    @TempDir
    Path dir;

    @Test
    void reportsPerGuidanceAccuracyOfATinyConditionalModel() {
        Path ck = dir.resolve("g8.safetensors");
        MainTest.Run train = MainTest.run("train", "--data", "8gaussians", "--classes", "8", "--steps", "800", "--out",
                ck.toString());
        assertThat(train.code()).as(train.err()).isZero();
        MainTest.Run r = MainTest.run("class-accuracy", "--checkpoint", ck.toString(), "--guidance", "1,3",
                "--per-class", "25", "--sampler", "euler", "--sampler-steps", "30");
        assertThat(r.code()).as(r.err()).isZero();
        Matcher m = Pattern.compile("guidance ([0-9.]+): ([0-9.]+)% of 200 samples").matcher(r.out());
        int lines = 0;
        while (m.find()) {
            lines++;
            assertThat(Double.parseDouble(m.group(2))).as("accuracy at guidance " + m.group(1)).isGreaterThan(90);
        }
        assertThat(lines).isEqualTo(2);
        MainTest.Run unconditional = MainTest.run("class-accuracy", "--checkpoint", "models/mnist-unet.safetensors");
        assertThat(unconditional.code()).isEqualTo(1);
        assertThat(unconditional.err()).contains("not class-conditional");
    }

    /** MNIST models are judged by the shipped CNN (99% on the test set), not an MLP trained on the spot (96%). */
    @Test
    void judgesMnistSamplesWithTheShippedCnn() {
        Path ck = dir.resolve("digits.safetensors");
        MainTest.Run train = MainTest.run("train", "--data", "mnist", "--classes", "10", "--channels", "8,8", "--steps",
                "2", "--batch-size", "4", "--out", ck.toString());
        assertThat(train.code()).as(train.err()).isZero();
        MainTest.Run r = MainTest.run("class-accuracy", "--checkpoint", ck.toString(), "--guidance", "3", "--per-class",
                "2", "--sampler-steps", "2");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("classifier: the shipped mnist feature network (CNN), test accuracy 99.12%")
                .containsPattern("guidance 3.0: [0-9.]+% of 20 samples").doesNotContain("MLP");
    }

    /**
     * A pipeline folder is judged through its captions: the shipped text model, 6 images per digit (one per caption
     * template) at 10 steps. Measured: 100.0% at guidance 3; its 500-step checkpoint scored 10% this way.
     */
    @Test
    void judgesAPipelineThroughTheCaptionsOfEveryClass() {
        MainTest.Run r = MainTest.run("class-accuracy", "--model", "models/mnist-text", "--guidance", "3",
                "--per-class", "6", "--steps", "10");
        assertThat(r.code()).as(r.err()).isZero();
        Matcher m = Pattern.compile("guidance 3.0: ([0-9.]+)% of 60 images \\(DPMSolverMultistepScheduler, 10 steps\\)")
                .matcher(r.out());
        assertThat(m.find()).as(r.out()).isTrue();
        assertThat(Double.parseDouble(m.group(1))).isGreaterThanOrEqualTo(95);
        MainTest.Run both = MainTest.run("class-accuracy", "--model", "models/mnist-text", "--checkpoint",
                "models/mnist-classes-unet.safetensors");
        assertThat(both.code()).isNotZero();
        assertThat(both.err()).contains("one of --checkpoint", "--model");
        MainTest.Run data = MainTest.run("class-accuracy", "--model", "models/mnist-text", "--data", "cifar10");
        assertThat(data.err()).contains("--data cifar10", "no shipped classifier");
    }
}
