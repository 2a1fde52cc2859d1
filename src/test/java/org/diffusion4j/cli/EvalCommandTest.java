package org.diffusion4j.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.offset;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import javax.imageio.ImageIO;
import org.diffusion4j.data.LabeledImages;
import org.diffusion4j.run.Datasets;
import org.diffusion4j.testing.Bars;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EvalCommandTest {
    @TempDir
    Path dir;

    @Test
    void scoresAFolderOfRealDigitsAtTheFloorAndWritesJson() throws Exception {
        LabeledImages train = Datasets.images("mnist", null, true);
        int n = 300;
        int size = 28 * 28;
        // A contiguous block of training images (the floor draws a seeded random 300; the expected overlap is 1.5).
        // Not the split's tail: MNIST's last writers are atypical enough to score 4x the floor at n = 300.
        int from = 1000;
        LabeledImages tail = new LabeledImages(Arrays.copyOfRange(train.pixels(), from * size, (from + n) * size),
                Arrays.copyOfRange(train.labels(), from, from + n), n, 1, 28, 28, 10, "tail");
        Path pngs = Bars.writePngs(tail, dir.resolve("pngs"));
        Path json = dir.resolve("report.json");
        MainTest.Run r = MainTest.run("eval", "--images", pngs.toString(), "--data", "mnist", "--json", json.toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("protocol: 300 images vs 300 mnist/test images", "floor: 300 mnist/train images",
                "mnist-v1", "samples", "real floor", "FID / floor", "WARNING: 300 images are too few");
        JsonNode report = new ObjectMapper().readTree(json.toFile());
        assertThat(report.get("protocol").get("extractor_sha256").asText()).hasSize(64);
        assertThat(report.get("fid_over_floor").asDouble()).isBetween(0.6, 1.6);
        assertThat(report.get("samples").get("class_histogram").size()).isEqualTo(10);
        MainTest.Run again = MainTest.run("eval", "--images", pngs.toString(), "--data", "mnist", "--json",
                json.toString());
        assertThat(again.code()).isNotZero();
        assertThat(again.err()).contains("--json", "already exists");
    }

    @Test
    void floorDrawsReportHowFarRealDataMovesAndGoIntoTheJson() throws Exception {
        LabeledImages digits = Datasets.images("mnist", null, false);
        Path pngs = Bars.writePngs(new LabeledImages(Arrays.copyOf(digits.pixels(), 10 * 28 * 28),
                Arrays.copyOf(digits.labels(), 10), 10, 1, 28, 28, 10, "ten"), dir.resolve("ten"));
        Path json = dir.resolve("draws.json");
        MainTest.Run r = MainTest.run("eval", "--images", pngs.toString(), "--data", "mnist",
                "--floor-draws", "3", "--json", json.toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("real draws: 3 more draws of 10 training images score FID");
        JsonNode draws = new ObjectMapper().readTree(json.toFile()).get("floor_draws_fid");
        assertThat(draws.size()).isEqualTo(3);
        assertThat(draws.get(0).asDouble()).isPositive().isNotEqualTo(draws.get(1).asDouble());
        for (String bad : new String[] {"-1", "101"}) {
            MainTest.Run refused = MainTest.run("eval", "--images", pngs.toString(), "--data", "mnist",
                    "--floor-draws", bad);
            assertThat(refused.code()).isNotZero();
            assertThat(refused.err()).contains("--floor-draws must be in [0, 100], got " + bad);
        }
    }

    @Test
    void scoresThePngsThatSampleWrites() {
        Path pngs = dir.resolve("sampled");
        MainTest.Run sample = MainTest.run("sample", "--n", "8", "--sampler", "euler", "--sampler-steps", "2",
                "--format", "png", "--out", pngs.toString());
        assertThat(sample.code()).as(sample.err()).isZero();
        // Grey digits stored as RGB with equal components: read as grey, not refused as colour.
        MainTest.Run r = MainTest.run("eval", "--images", pngs.toString(), "--data", "mnist");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("(8 images)", "protocol: 8 images vs 8 mnist/test images");
    }

    @Test
    void seedsScoreOneRunPerSeedAndSummariseTheirSpread() throws Exception {
        Path json = dir.resolve("seeds.json");
        MainTest.Run r = MainTest.run("eval", "--checkpoint", "models/mnist-unet.safetensors", "--n", "12",
                "--sampler", "euler", "--sampler-steps", "2", "--seeds", "3-4", "--json", json.toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("euler-2, seed 3", "euler-2, seed 4", "over 2 seeds (3,4): FID mean");
        JsonNode report = new ObjectMapper().readTree(json.toFile());
        JsonNode runs = report.get("runs");
        assertThat(runs.size()).isEqualTo(2);
        double a = runs.get(0).get("samples").get("fid").asDouble();
        double b = runs.get(1).get("samples").get("fid").asDouble();
        // Different seeds, different samples; the floor is the same for both.
        assertThat(a).isNotEqualTo(b);
        assertThat(runs.get(0).get("floor").get("fid").asDouble()).isEqualTo(runs.get(1).get("floor").get("fid")
                .asDouble());
        assertThat(report.get("fid_mean").asDouble()).isCloseTo((a + b) / 2, offset(1e-9));
        assertThat(report.get("fid_min").asDouble()).isEqualTo(Math.min(a, b));
        assertThat(report.get("fid_max").asDouble()).isEqualTo(Math.max(a, b));
        // A run of --seeds 3-4 scores seed 4 exactly as --seed 4 alone does.
        Path single = dir.resolve("four.json");
        MainTest.Run four = MainTest.run("eval", "--checkpoint", "models/mnist-unet.safetensors", "--n", "12",
                "--sampler", "euler", "--sampler-steps", "2", "--seed", "4", "--json", single.toString());
        assertThat(four.code()).as(four.err()).isZero();
        assertThat(new ObjectMapper().readTree(single.toFile()).get("samples").get("fid").asDouble()).isEqualTo(b);
    }

    @Test
    void seedsAreParsedAsAListOrARangeAndRefusedOtherwise() {
        assertThat(EvalCommand.parseSeeds("0-7")).containsExactly(0, 1, 2, 3, 4, 5, 6, 7);
        assertThat(EvalCommand.parseSeeds("5, 0,3")).containsExactly(5, 0, 3);
        assertThat(EvalCommand.parseSeeds("-2")).containsExactly(-2);
        for (String[] bad : new String[][] {{"7-3", "FROM <= TO"}, {"0-100", "at most 100 seeds"},
                {"1,x", "expected a list of integers"}, {"1,1", "repeated"}, {"", "expected a list"}}) {
            assertThatThrownBy(() -> EvalCommand.parseSeeds(bad[0])).hasMessageContaining("--seeds " + bad[0])
                    .hasMessageContaining(bad[1]);
        }
        MainTest.Run both = MainTest.run("eval", "--checkpoint", "models/mnist-unet.safetensors", "--seed", "1",
                "--seeds", "0-1");
        assertThat(both.code()).isNotZero();
        assertThat(both.err()).contains("--seed and --seeds");
        MainTest.Run images = MainTest.run("eval", "--images", dir.toString(), "--data", "mnist", "--seeds", "0-1");
        assertThat(images.code()).isNotZero();
        assertThat(images.err()).contains("--seeds samples a checkpoint");
    }

    @Test
    void samplesACheckpointWithTheChosenSampler() {
        MainTest.Run r = MainTest.run("eval", "--checkpoint", "models/mnist-unet.safetensors", "--n", "20",
                "--sampler", "euler", "--sampler-steps", "3");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("euler-3", "protocol: 20 images", "FID / floor",
                "WARNING: 20 images are too few: below 500");
    }

    @Test
    void scoresA2dModelAgainstFreshData() {
        Path ck = dir.resolve("roll.safetensors");
        MainTest.Run train = MainTest.run("train", "--data", "swiss-roll", "--steps", "300", "--out", ck.toString());
        assertThat(train.code()).as(train.err()).isZero();
        MainTest.Run r = MainTest.run("eval", "--checkpoint", ck.toString(), "--n", "500", "--sampler", "ddim",
                "--sampler-steps", "50");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("500 samples vs 500 fresh swiss-roll points", "ddim-50", "sliced-W2",
                "real-data floor");
        MainTest.Run draws = MainTest.run("eval", "--checkpoint", ck.toString(), "--floor-draws", "2");
        assertThat(draws.code()).isNotZero();
        assertThat(draws.err()).contains("--floor-draws scores images", "roll.safetensors");
    }

    @Test
    void rejectsIncompleteOrContradictoryRequests() throws Exception {
        Path pngs = Bars.writePngs(Bars.images(10, 1), dir.resolve("bars"));
        MainTest.Run noData = MainTest.run("eval", "--images", pngs.toString());
        assertThat(noData.code()).isNotZero();
        assertThat(noData.err()).contains("--images needs --data");
        MainTest.Run both = MainTest.run("eval", "--images", pngs.toString(), "--checkpoint", "x.safetensors");
        assertThat(both.code()).isNotZero();
        assertThat(both.err()).contains("mutually exclusive");
        MainTest.Run folder = MainTest.run("eval", "--images", pngs.toString(), "--data", "folder:" + pngs);
        assertThat(folder.code()).isNotZero();
        assertThat(folder.err()).contains("labelled dataset");
        // Images of another size or colour are refused as they are stored, not resized into the reference's shape.
        Path small = Bars.writePngs(Bars.images(3, 1), dir.resolve("small"));
        MainTest.Run size = MainTest.run("eval", "--images", small.toString(), "--data", "mnist");
        assertThat(size.code()).isNotZero();
        assertThat(size.err()).contains("--images " + small.resolve("000.png") + ": 8x8 grey images, but mnist has "
                + "28x28 grey images");
        Path noise = Files.createDirectories(dir.resolve("noise"));
        Random random = new Random(3);
        for (int i = 0; i < 6; i++) {
            var img = new BufferedImage(28, 28, BufferedImage.TYPE_INT_RGB);
            for (int y = 0; y < 28; y++) {
                for (int x = 0; x < 28; x++) {
                    img.setRGB(x, y, random.nextInt(1 << 24));
                }
            }
            ImageIO.write(img, "png", noise.resolve(i + ".png").toFile());
        }
        MainTest.Run colour = MainTest.run("eval", "--images", noise.toString(), "--data", "mnist");
        assertThat(colour.err()).contains("0.png: 28x28 colour images, but mnist has 28x28 grey images");
        LabeledImages digits = Datasets.images("mnist", null, false);
        Path three = Bars.writePngs(new LabeledImages(Arrays.copyOf(digits.pixels(), 3 * 28 * 28),
                Arrays.copyOf(digits.labels(), 3), 3, 1, 28, 28, 10, "three"), dir.resolve("three"));
        MainTest.Run few = MainTest.run("eval", "--images", three.toString(), "--data", "mnist");
        assertThat(few.code()).isNotZero();
        assertThat(few.err()).contains("more than 3 images");
        MainTest.Run n = MainTest.run("eval", "--checkpoint", "models/mnist-unet.safetensors", "--n", "0");
        assertThat(n.code()).isNotZero();
        assertThat(n.err()).contains("--n must be >= 1");
        MainTest.Run pickle = MainTest.run("eval", "--checkpoint", dir.resolve("m.ckpt").toString());
        assertThat(pickle.code()).isNotZero();
        assertThat(pickle.err()).contains("m.ckpt");
        assertThat(Files.exists(dir.resolve("m.ckpt"))).isFalse();
    }
}
