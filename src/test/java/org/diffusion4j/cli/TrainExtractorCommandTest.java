package org.diffusion4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.diffusion4j.eval.FeatureExtractor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TrainExtractorCommandTest {
    @TempDir
    Path dir;

    @Test
    void trainsAndRecordsHowItWasMade() throws Exception {
        Path out = dir.resolve("ext.safetensors");
        MainTest.Run r = MainTest.run("train-extractor", "--data", "mnist", "--steps", "60", "--seed", "3", "--out",
                out.toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("test accuracy", "sha256");
        FeatureExtractor f = FeatureExtractor.load(out);
        assertThat(f.metadata()).containsEntry("command", "train-extractor --data mnist --steps 60 --seed 3")
                .containsEntry("steps", "60").containsEntry("data", "mnist");
        assertThat(Double.parseDouble(f.metadata().get("test_accuracy"))).isGreaterThan(0.7);

        MainTest.Run again = MainTest.run("train-extractor", "--steps", "1", "--out", out.toString());
        assertThat(again.code()).isNotZero();
        assertThat(again.err()).contains("already exists");
    }

    @Test
    void refusesDataWithoutLabelledSplits() {
        MainTest.Run toy = MainTest.run("train-extractor", "--data", "swiss-roll", "--out",
                dir.resolve("a.safetensors").toString());
        assertThat(toy.code()).isNotZero();
        assertThat(toy.err()).contains("--data swiss-roll", "labelled images");
        MainTest.Run folder = MainTest.run("train-extractor", "--data", "folder:" + dir, "--out",
                dir.resolve("b.safetensors").toString());
        assertThat(folder.code()).isNotZero();
        assertThat(folder.err()).contains("labelled images");
        MainTest.Run name = MainTest.run("train-extractor", "--out", dir.resolve("c.pt").toString());
        assertThat(name.code()).isNotZero();
        assertThat(name.err()).contains("c.pt");
    }
}
