package org.diffusion4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TrainCommandTest {
    @TempDir
    Path dir;

    /** Fraction of the CSV's points whose nearest 8gaussians centre is class {@code k}. */
    private static double accuracy(Path csv, int k) throws IOException {
        List<String> lines = Files.readAllLines(csv);
        int hit = 0;
        for (String line : lines.subList(1, lines.size())) {
            String[] xy = line.split(",");
            double x = Double.parseDouble(xy[0]);
            double y = Double.parseDouble(xy[1]);
            int best = 0;
            double bestD = Double.MAX_VALUE;
            for (int c = 0; c < 8; c++) {
                double d = Math.hypot(x - 2 * Math.cos(c * Math.PI / 4), y - 2 * Math.sin(c * Math.PI / 4));
                if (d < bestD) {
                    bestD = d;
                    best = c;
                }
            }
            hit += best == k ? 1 : 0;
        }
        return (double) hit / (lines.size() - 1);
    }

    /** A tiny class-conditional model: guided samples land in the asked Gaussian. */
    @Test
    void classConditionalTrainingAndGuidedSampling() throws IOException {
        Path ck = dir.resolve("g8.safetensors");
        MainTest.Run train = MainTest.run("train", "--data", "8gaussians", "--classes", "8", "--steps", "1500",
                "--out", ck.toString());
        assertThat(train.code()).as(train.err()).isZero();
        assertThat(train.out()).contains("\"num_class_embeds\":9");
        for (String w : new String[] {"1", "3"}) {
            Path csv = dir.resolve("w" + w + ".csv");
            MainTest.Run r = MainTest.run("sample", "--checkpoint", ck.toString(), "--class", "3", "--guidance", w,
                    "--sampler", "euler", "--sampler-steps", "40", "--n", "400", "--out", dir.resolve("w" + w + ".png")
                            .toString(), "--csv", csv.toString());
            assertThat(r.code()).as(r.err()).isZero();
            assertThat(r.out()).contains("class 3, guidance " + w + ".0", "quality vs fresh 8gaussians class 3 data");
            assertThat(accuracy(csv, 3)).as("w = " + w + ": samples nearest to Gaussian 3").isGreaterThanOrEqualTo(0.95);
        }
        // The unconditional distribution ("no class") still spreads over every class.
        Path all = dir.resolve("all.csv");
        MainTest.Run u = MainTest.run("sample", "--checkpoint", ck.toString(), "--sampler", "euler", "--sampler-steps",
                "40", "--n", "800", "--out", dir.resolve("all.png").toString(), "--csv", all.toString());
        assertThat(u.code()).as(u.err()).isZero();
        for (int k = 0; k < 8; k++) {
            assertThat(accuracy(all, k)).as("share of class " + k).isBetween(0.05, 0.2);
        }
        MainTest.Run noClass = MainTest.run("sample", "--checkpoint", ck.toString(), "--guidance", "3", "--out",
                dir.resolve("x.png").toString());
        assertThat(noClass.err()).contains("--guidance needs --class");
        MainTest.Run tooBig = MainTest.run("sample", "--checkpoint", ck.toString(), "--class", "8", "--out",
                dir.resolve("y.png").toString());
        assertThat(tooBig.err()).contains("--class/--guidance: class 8 is not a class of this model (0 to 7)");
    }

    /** 1-D signals end to end: generated waveforms, then the samples' CSV used as a rows: dataset. */
    @Test
    void trainsAndSamplesOneDimensionalSignals() throws IOException {
        Path ck = dir.resolve("wave.safetensors");
        MainTest.Run train = MainTest.run("train", "--data", "waveforms", "--steps", "100", "--out", ck.toString());
        assertThat(train.code()).as(train.err()).isZero();
        assertThat(train.out()).contains("\"data_dim\":64", "on waveforms");
        Path csv = dir.resolve("wave.csv");
        MainTest.Run sample = MainTest.run("sample", "--checkpoint", ck.toString(), "--sampler", "euler",
                "--sampler-steps", "10", "--n", "50", "--out", dir.resolve("wave.png").toString(), "--csv", csv.toString());
        assertThat(sample.code()).as(sample.err()).isZero();
        assertThat(sample.out()).contains("sampled 50 signals with euler-10", "quality vs fresh waveforms data: n=50");
        List<String> rows = Files.readAllLines(csv);
        assertThat(rows).hasSize(50).allMatch(r -> r.split(",").length == 64);
        assertThat(dir.resolve("wave.png")).isNotEmptyFile();
        MainTest.Run again = MainTest.run("train", "--data", "rows:" + csv, "--steps", "3", "--out",
                dir.resolve("rows.safetensors").toString());
        assertThat(again.code()).as(again.err()).isZero();
        assertThat(again.out()).contains("on rows:" + csv.toAbsolutePath().normalize());
        MainTest.Run png = MainTest.run("sample", "--checkpoint", ck.toString(), "--format", "png", "--out",
                dir.resolve("pngs").toString());
        assertThat(png.err()).contains("--format png and --gif are for image models");
        MainTest.Run missing = MainTest.run("train", "--data", "rows:" + dir.resolve("nope.csv"), "--steps", "1",
                "--out", dir.resolve("x.safetensors").toString());
        assertThat(missing.err()).contains("nope.csv: no such file");
    }

    @Test
    void conditioningNeedsALabelledDataset() {
        MainTest.Run r = MainTest.run("train", "--data", "swiss-roll", "--classes", "3", "--steps", "1", "--out",
                dir.resolve("s.safetensors").toString());
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).contains("--classes 3: dataset 'swiss-roll' has 0 classes");
        MainTest.Run dropout = MainTest.run("train", "--data", "8gaussians", "--classes", "8", "--label-dropout", "1",
                "--steps", "1", "--out", dir.resolve("d.safetensors").toString());
        assertThat(dropout.err()).contains("label dropout must be in [0, 1)");
    }
}
