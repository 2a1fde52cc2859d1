package org.diffusion4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.diffusion4j.checkpoint.Checkpoint;
import org.diffusion4j.checkpoint.Safetensors;
import org.diffusion4j.data.ImageFolder;
import org.diffusion4j.eval.Extractors;
import org.diffusion4j.eval.FeatureExtractor;
import org.diffusion4j.tensor.Tensors;
import org.diffusion4j.testing.ChildJvm;
import org.diffusion4j.testing.Shared;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SampleCommandTest {
    @TempDir
    Path dir;

    /** With no --checkpoint, sample uses the MNIST model shipped in the repository (tests run from its root). */
    @Test
    void samplesTheShippedModelByDefault() throws IOException {
        assertThat(SampleCommand.shippedModel()).isEqualTo(Path.of(".", "models", "mnist-unet.safetensors"));
        Path grid = dir.resolve("digits.png");
        MainTest.Run r = MainTest.run("sample", "--n", "4", "--out", grid.toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("sampled 4 images with dpm++3m-sde-30");
        assertThat(ImageIO.read(grid.toFile()).getWidth()).isEqualTo(2 * (28 * 2 + 2) + 2);
    }

    /**
     * A regression guard for the shipped model and its loader: what {@code sample} writes by default is read back and
     * recognised as digits, of most kinds, by the shipped CNN. Measured: the shipped model's 32 default samples score
     * a mean top-class probability of 0.961 over 10 distinct digits (0.985 with the earlier default of 20 steps); a
     * model trained for 2 steps scored 0.737 over 3.
     */
    @Test
    void theShippedModelDrawsDigitsTheCnnRecognises() throws Exception {
        Judged j = judge("mnist", 32, "sample", "--n", "32");
        assertThat(j.meanTop()).as("mean top-class probability").isGreaterThan(0.88);
        assertThat(Arrays.stream(j.classes()).distinct().count()).as("distinct digits").isGreaterThanOrEqualTo(8);
    }

    /**
     * The class-conditional model draws the digit asked for. Measured: 8 of 8 for 2 and for 7 at guidance 3, with a
     * mean top-class probability of 1.000; a model trained for 2 steps draws 2s and 8s when asked for 7s.
     */
    @Test
    void theShippedClassConditionalModelDrawsTheDigitAskedFor() throws Exception {
        for (int digit : new int[] {2, 7}) {
            Judged j = judge("mnist", 8, "sample", "--class", String.valueOf(digit), "--guidance", "3", "--n", "8");
            assertThat(j.classes()).as("digit " + digit).containsOnly(digit);
            assertThat(j.meanTop()).as("mean top-class probability").isGreaterThan(0.9);
        }
    }

    /**
     * The Fashion-MNIST model draws clothes the Fashion-MNIST CNN recognises. Measured: a mean top-class probability
     * of 0.890 over all 10 kinds at the default 30 steps (at the earlier 20: the model before it, 55,267 + 10,000
     * steps, 0.916; 28,469 + 10,000 steps 0.921; the 16,32,32 model 0.887, its checkpoint at step 2000 0.853, and a
     * 2-step model 0.840 over 2 kinds).
     */
    @Test
    void theShippedFashionModelDrawsClothesTheCnnRecognises() throws Exception {
        Judged j = judge("fashion-mnist", 32, "sample", "--model", "fashion-mnist", "--n", "32");
        assertThat(j.meanTop()).as("mean top-class probability").isGreaterThan(0.87);
        assertThat(Arrays.stream(j.classes()).distinct().count()).as("distinct kinds").isGreaterThanOrEqualTo(7);
    }

    /** Grey 28x28 pixels of a PNG, row by row. */
    private static int[] grey(Path png) throws IOException {
        var img = ImageIO.read(png.toFile());
        int[] v = new int[28 * 28];
        for (int i = 0; i < v.length; i++) {
            v[i] = img.getRGB(i % 28, i / 28) & 0xff;
        }
        return v;
    }

    /**
     * Inpainting with the shipped unconditional U-Net: the kept top half of a digit comes back exactly, and the
     * painted bottom half completes it into digits the CNN recognises. Measured from the top of a 3: 8 of 8 outputs
     * keep every kept pixel, all completed as 3s (mean top-class probability 0.99). img2img at strength 0.3 stays
     * the digit (four 3s, mean pixel difference 7.1 levels); at strength 1 it draws new ones (1, 7, 7, 4; 48 levels).
     */
    @Test
    void inpaintingTheShippedModelKeepsTheKnownHalfAndCompletesDigits() throws Exception {
        Path src = dir.resolve("src");
        assertThat(MainTest.run("sample", "--n", "1", "--seed", "5", "--format", "png", "--out", src.toString())
                .code()).isZero();
        Path digit = src.resolve("000000.png");
        var mask = new java.awt.image.BufferedImage(28, 28, java.awt.image.BufferedImage.TYPE_BYTE_GRAY);
        for (int y = 14; y < 28; y++) {
            for (int x = 0; x < 28; x++) {
                mask.getRaster().setSample(x, y, 0, 255);
            }
        }
        Path maskFile = dir.resolve("mask.png");
        ImageIO.write(mask, "png", maskFile.toFile());
        Judged j = judge("mnist", 8, "sample", "--n", "8", "--init-image", digit.toString(), "--mask",
                maskFile.toString());
        assertThat(j.meanTop()).as("mean top-class probability").isGreaterThan(0.85);
        int[] want = grey(digit);
        Path outs = lastPngs;
        try (var files = Files.list(outs)) {
            for (Path f : files.sorted().toList()) {
                int[] got = grey(f);
                for (int i = 0; i < 14 * 28; i++) {
                    assertThat(Math.abs(got[i] - want[i])).as(f + " kept pixel " + i).isLessThanOrEqualTo(1);
                }
            }
        }
        double near = meanDifference(digit, "0.3");
        double far = meanDifference(digit, "1");
        assertThat(near).isLessThan(10);
        assertThat(far).isGreaterThan(3 * near);
    }

    /** Mean absolute difference, in 8-bit levels, between a digit and 4 img2img samples from it. */
    private double meanDifference(Path digit, String strength) throws Exception {
        judge("mnist", 4, "sample", "--n", "4", "--init-image", digit.toString(), "--strength", strength);
        int[] want = grey(digit);
        double sum = 0;
        int count = 0;
        try (var files = Files.list(lastPngs)) {
            for (Path f : files.toList()) {
                int[] got = grey(f);
                for (int i = 0; i < got.length; i++) {
                    sum += Math.abs(got[i] - want[i]);
                    count++;
                }
            }
        }
        System.out.println("img2img strength " + strength + ": mean difference " + sum / count);
        return sum / count;
    }

    private Path lastPngs;

    /** What the dataset's shipped CNN makes of n PNGs written by a sample command. */
    private record Judged(long[] classes, double meanTop) {}

    private Judged judge(String data, int n, String... command) throws Exception {
        Path pngs = Files.createTempDirectory(dir, "pngs");
        lastPngs = pngs;
        MainTest.Run r = MainTest.run(MainTest.concat(command, "--format", "png", "--out", pngs.toString()));
        assertThat(r.code()).as(r.err()).isZero();
        FeatureExtractor cnn = Extractors.load(Extractors.shippedFor(data));
        try (PointerScope scope = new PointerScope()) {
            var images = ImageFolder.load(pngs, 28, ImageFolder.Color.GREY);
            assertThat(images.count()).isEqualTo(n);
            var x = images.slice(0, n);
            double[] top = Tensors.toDoubles(cnn.apply(x).probabilities().amax(new long[] {1}, false));
            Judged j = new Judged(cnn.predict(x), Arrays.stream(top).average().orElse(0));
            System.out.println(Arrays.toString(command) + ": classes " + Arrays.toString(j.classes())
                    + ", mean top-class probability " + j.meanTop());
            return j;
        }
    }

    /** --class all: one grid row per class, from a (barely trained) class-conditional MNIST U-Net. */
    @Test
    void gridsEveryClassOfAConditionalImageModel() throws IOException {
        Path ck = dir.resolve("cond.safetensors");
        MainTest.Run train = MainTest.run("train", "--data", "mnist", "--classes", "10", "--channels", "8,8",
                "--steps", "2", "--batch-size", "4", "--out", ck.toString());
        assertThat(train.code()).as(train.err()).isZero();
        Path grid = dir.resolve("all.png");
        MainTest.Run r = MainTest.run("sample", "--checkpoint", ck.toString(), "--class", "all", "--guidance", "2",
                "--n", "20", "--sampler-steps", "5", "--out", grid.toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("sampled 20 images with dpm++3m-sde-5, every class, guidance 2.0");
        var image = ImageIO.read(grid.toFile());
        assertThat(image.getWidth()).isEqualTo(2 * (28 * 2 + 2) + 2);
        assertThat(image.getHeight()).isEqualTo(10 * (28 * 2 + 2) + 2);
        MainTest.Run bad = MainTest.run("sample", "--checkpoint", ck.toString(), "--class", "three", "--out",
                dir.resolve("b.png").toString());
        assertThat(bad.err()).contains("--class: expected a class number or all, got 'three'");
        MainTest.Run rescaled = MainTest.run("sample", "--checkpoint", ck.toString(), "--class", "3", "--guidance", "4",
                "--guidance-rescale", "0.7", "--guidance-interval", "0.28,5.42", "--n", "2", "--sampler-steps", "3",
                "--out", dir.resolve("r.png").toString());
        assertThat(rescaled.code()).as(rescaled.err()).isZero();
        assertThat(rescaled.out()).contains("class 3, guidance 4.0, rescale 0.7, sigma in (0.28, 5.42]");
        MainTest.Run interval = MainTest.run("sample", "--checkpoint", ck.toString(), "--class", "3",
                "--guidance-interval", "5,1", "--out", dir.resolve("i.png").toString());
        assertThat(interval.err()).contains("--guidance-interval", "0 <= low < high");
        MainTest.Run rescale = MainTest.run("sample", "--checkpoint", ck.toString(), "--class", "3",
                "--guidance-rescale", "2", "--out", dir.resolve("i.png").toString());
        assertThat(rescale.err()).contains("--guidance-rescale", "must be in [0, 1]");
        assertThat(dir.resolve("i.png")).doesNotExist();
    }

    /** A grid is PNG and the denoising animation GIF: a name promising another format is refused, nothing written. */
    @Test
    void refusesAnOutputNamedForAnotherFormat() {
        MainTest.Run jpg = MainTest.run("sample", "--n", "1", "--out", dir.resolve("x.jpg").toString());
        assertThat(jpg.code()).isEqualTo(1);
        assertThat(jpg.err()).contains("--out " + dir.resolve("x.jpg") + ": this output is written as PNG; name it *.png");
        MainTest.Run gif = MainTest.run("sample", "--n", "1", "--out", dir.resolve("x.png").toString(), "--gif",
                dir.resolve("anim.png").toString());
        assertThat(gif.err()).contains("--gif " + dir.resolve("anim.png") + ": this output is written as GIF");
        assertThat(dir).isEmptyDirectory();
        MainTest.Run upper = MainTest.run("sample", "--n", "1", "--sampler-steps", "2", "--out",
                dir.resolve("X.PNG").toString());
        assertThat(upper.code()).as(upper.err()).isZero();
    }

    /**
     * A guidance scale that blows the prediction up fails the command at that evaluation instead of writing
     * infinities; a checkpoint whose weights hold NaN is refused at load, naming the tensor.
     */
    @Test
    void nonFiniteSamplesAndWeightsFailTheCommandAndWriteNothing() throws IOException {
        Path ck = dir.resolve("moons.safetensors");
        MainTest.Run train = MainTest.run("train", "--data", "two-moons", "--classes", "2", "--hidden", "16",
                "--steps", "2", "--batch-size", "8", "--out", ck.toString());
        assertThat(train.code()).as(train.err()).isZero();
        Path out = dir.resolve("out");
        MainTest.Run huge = MainTest.run("sample", "--checkpoint", ck.toString(), "--class", "1", "--guidance", "1e300",
                "--sampler", "ddim", "--sampler-steps", "5", "--n", "8", "--out", out.resolve("g.png").toString(),
                "--csv", out.resolve("g.csv").toString());
        assertThat(huge.code()).isEqualTo(1);
        assertThat(huge.err()).contains("error: the prediction turned non-finite (NaN or infinite) at model "
                + "evaluation 0").contains("nothing was written");
        assertThat(out).isEmptyDirectory();

        Path nan = dir.resolve("nan.safetensors");
        try (PointerScope scope = new PointerScope()) {
            var c = Safetensors.read(ck);
            Map<String, Tensor> t = new LinkedHashMap<>(c.tensors());
            for (var e : t.entrySet()) {
                if (e.getKey().endsWith("out_proj.weight")) {
                    e.getValue().narrow(0, 0, 1).fill_(Tensors.scalar(Double.NaN));
                }
            }
            Safetensors.write(nan, t, c.metadata());
        }
        // The sidecar vouches for the weights by their SHA-256: a consistent pair whose weights are NaN.
        String sidecar = Files.readString(Checkpoint.sidecarOf(ck));
        Files.writeString(Checkpoint.sidecarOf(nan),
                sidecar.replace(Checkpoint.sha256(ck),
                        Checkpoint.sha256(nan)));
        MainTest.Run bad = MainTest.run("sample", "--checkpoint", nan.toString(), "--out",
                out.resolve("n.png").toString());
        assertThat(bad.code()).isEqualTo(1);
        assertThat(bad.err()).contains(nan + ": parameter 'out_proj.weight' holds NaN or infinite values");
        assertThat(out).isEmptyDirectory();
    }

    @Test
    void refusesClassesForAnUnconditionalModel() {
        MainTest.Run r = MainTest.run("sample", "--model", "mnist", "--class", "3", "--guidance", "2", "--out",
                dir.resolve("c.png").toString());
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).contains("--class and --guidance are for class-conditional models");
    }

    @Test
    void namesTheShippedModelsAndTakesOneSourceOfWeights() {
        MainTest.Run unknown = MainTest.run("sample", "--model", "cifar", "--out", dir.resolve("c.png").toString());
        assertThat(unknown.code()).isEqualTo(1);
        assertThat(unknown.err()).contains("--model: unknown model 'cifar'; shipped: [mnist, mnist-classes, fashion-mnist]");
        MainTest.Run both = MainTest.run("sample", "--model", "mnist", "--checkpoint", "models/mnist-unet.safetensors",
                "--out", dir.resolve("c.png").toString());
        assertThat(both.code()).isEqualTo(1);
        assertThat(both.err()).contains("--checkpoint, --diffusers and --model are alternatives");
        assertThat(dir.resolve("c.png")).doesNotExist();
    }

    @Test
    void explainsAMissingShippedModel() {
        String old = System.getProperty("diffusion4j.home");
        try {
            System.setProperty("diffusion4j.home", dir.toString());
            MainTest.Run r = MainTest.run("sample", "--n", "4", "--out", dir.resolve("x.png").toString());
            assertThat(r.code()).isEqualTo(1);
            assertThat(r.err()).contains("--checkpoint is required: no shipped model at " + dir);
        } finally {
            if (old == null) {
                System.clearProperty("diffusion4j.home");
            } else {
                System.setProperty("diffusion4j.home", old);
            }
        }
    }

    @Test
    void samplesADiffusersFolderWithAnyOfOurSamplers() throws IOException {
        Path folder = Shared.diffusers().resolve("unet_a_uncond").resolve("save_pretrained");
        for (String sampler : new String[] {"euler", "dpm++2m", "pndm"}) {
            Path grid = dir.resolve(sampler + ".png");
            MainTest.Run r = MainTest.run("sample", "--diffusers", folder.toString(), "--sampler", sampler,
                    "--sampler-steps", "8", "--n", "4", "--out", grid.toString());
            assertThat(r.code()).as(r.err()).isZero();
            assertThat(r.out()).contains("177427 parameters, epsilon prediction, 1000 training steps",
                    "sampled 4 images with " + sampler + "-8");
            assertThat(ImageIO.read(grid.toFile()).getWidth()).isEqualTo(2 * (8 * 2 + 2) + 2);
        }
        MainTest.Run both = MainTest.run("sample", "--diffusers", folder.toString(), "--checkpoint", "x.safetensors");
        assertThat(both.code()).isEqualTo(1);
        assertThat(both.err()).contains("--checkpoint, --diffusers and --model are alternatives");
        MainTest.Run karras = MainTest.run("sample", "--diffusers", folder.toString(), "--sampler", "ddim", "--karras",
                "--out", dir.resolve("k.png").toString());
        assertThat(karras.err()).contains("--karras is for the sigma-based samplers");
    }

    @Test
    void aBatchThatCannotFitIsRefusedUpFront() {
        MainTest.Run r = MainTest.run("sample", "--n", "1000000", "--batch-size", "1000000", "--out",
                dir.resolve("s.png").toString());
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).containsPattern("error: sampling 1000000 at once needs about \\d+ GiB of memory but .* is "
                + "available; lower --batch-size");
        assertThat(dir.resolve("s.png")).doesNotExist();
    }

    /**
     * A batch the up-front estimate lets through (it is a lower bound) but the process cannot hold, here under a
     * 12 GB address-space limit: the command ends with one line naming the option, not libtorch's C++ stack trace.
     */
    @Test
    void runningOutOfMemoryWhileSamplingEndsWithOneLine() throws Exception {
        List<String> cmd = new ArrayList<>(List.of("sh", "-c",
                "ulimit -v 12000000 && exec \"$@\"", "sh"));
        cmd.addAll(ChildJvm.command(Main.class.getName(), "sample", "--n", "20000",
                "--batch-size", "20000", "--sampler-steps", "2", "--out", dir.resolve("s.png").toString()));
        Process p = ChildJvm.start(cmd, dir, "oom");
        assertThat(ChildJvm.await(p, 300)).isEqualTo(1);
        String err = Files.readString(dir.resolve("oom.err"));
        assertThat(err).containsPattern("error: out of memory: an allocation of .* failed; lower --batch-size\\n$")
                .doesNotContain("frame #").doesNotContain("\tat ");
        assertThat(dir.resolve("s.png")).doesNotExist();
    }
}
