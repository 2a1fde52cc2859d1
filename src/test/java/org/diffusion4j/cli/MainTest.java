package org.diffusion4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.imageio.ImageIO;
import org.diffusion4j.checkpoint.Checkpoint;
import org.diffusion4j.testing.Shared;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The CLI end to end: the default run once (it is the expensive part), then every command against its output. */
class MainTest {
    private static final Pattern QUALITY = Pattern.compile(
            "sliced-W2 ([0-9.]+) \\(real-data floor ([0-9.]+)\\)  MMD\\^2 (-?[0-9.]+)");

    @TempDir
    static Path dir;

    private static Path demo;
    private static String demoOut;
    private static String demoErr;

    /** Result of one CLI invocation. */
    record Run(int code, String out, String err) {}

    static Run run(String... args) {
        PrintStream oldOut = System.out;
        PrintStream oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            int code = Main.run(args);
            return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    @BeforeAll
    static void runTheDefaultJob() {
        demo = dir.resolve("demo");
        Run r = run("demo", "--out-dir", demo.toString());
        assertThat(r.code()).as(r.err()).isZero();
        demoOut = r.out();
        demoErr = r.err();
        System.out.println(demoOut);
    }

    /** Every command's help renders as written: picocli reads descriptions as format strings ("99%" broke one). */
    @Test
    void everyCommandsHelpRendersWithoutWarnings() {
        var commands = new picocli.CommandLine(new Main()).getSubcommands().keySet();
        assertThat(commands).contains("sample", "train", "class-accuracy", "serve");
        for (String command : commands) {
            Run r = run(command, "--help");
            assertThat(r.code()).as(command).isZero();
            assertThat(r.out()).as(command).startsWith("Usage: diffusion4j " + command);
            assertThat(r.out() + r.err()).as(command).doesNotContain("WARN", "Could not format");
        }
    }

    @Test
    void defaultRunReachesTheRealDataFloor() throws IOException {
        Matcher m = QUALITY.matcher(demoOut);
        assertThat(m.find()).as(demoOut).isTrue();
        double swd = Double.parseDouble(m.group(1));
        double floor = Double.parseDouble(m.group(2));
        double mmd = Double.parseDouble(m.group(3));
        // The same bound an untrained model fails (pipeline.QualityReportTest).
        assertThat(swd).as("sliced W2 vs 1.5 x floor").isLessThanOrEqualTo(1.5 * floor);
        assertThat(mmd).as("MMD^2").isLessThanOrEqualTo(0.005);
        for (String f : new String[] {"model.safetensors", "model.json", "model.loss.csv", "samples.png", "samples.csv"}) {
            assertThat(demo.resolve(f)).as(f).isNotEmptyFile();
        }
        assertThat(Files.readAllLines(demo.resolve("model.loss.csv"))).hasSize(3001).first().isEqualTo("step,loss,lr,grad_norm");
        assertThat(Files.readAllLines(demo.resolve("samples.csv"))).hasSize(2001);
        // Progress bars go to stderr; stdout carries results only.
        assertThat(demoErr).contains("train", "sample", "100%");
        assertThat(demoOut).doesNotContain("100%");
    }

    @Test
    void sameSeedSameSamplesAndSeedsDiffer() throws IOException {
        Path ck = demo.resolve("model.safetensors");
        String[] base = {"sample", "--checkpoint", ck.toString(), "--sampler", "ddim", "--sampler-steps", "20", "--n", "50"};
        for (String[] variant : new String[][] {{"a", "1"}, {"b", "1"}, {"c", "2"}}) {
            Run r = run(concat(base, "--seed", variant[1], "--out", dir.resolve(variant[0] + ".png").toString(),
                    "--csv", dir.resolve(variant[0] + ".csv").toString()));
            assertThat(r.code()).as(r.err()).isZero();
        }
        String a = Files.readString(dir.resolve("a.csv"));
        assertThat(Files.readString(dir.resolve("b.csv"))).isEqualTo(a);
        assertThat(Files.readString(dir.resolve("c.csv"))).isNotEqualTo(a);
    }

    @Test
    void inspectShowsConfigsAndTensors() {
        Run r = run("inspect", demo.resolve("model.safetensors").toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("sidecar verified", "\"beta_schedule\":\"linear\"", "swiss-roll, step 3000",
                "model.out_proj.weight", "ema.out_proj.weight", "optim.exp_avg_sq.in_proj.bias", "F32");
    }

    @Test
    void inspectOfACorruptFileFailsNamingIt() throws IOException {
        Path bad = dir.resolve("bad.safetensors");
        Files.write(bad, new byte[] {16, 0, 0, 0, 0, 0, 0, 0, '{', '}'});
        Run r = run("inspect", bad.toString());
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).contains("error: " + bad, "truncated");
    }

    @Test
    void nonsenseHyperparametersAreRejectedByName() {
        Path out = dir.resolve("x.safetensors");
        Run lr = run("train", "--lr", "0", "--out", out.toString());
        assertThat(lr.code()).isEqualTo(1);
        assertThat(lr.err()).contains("error: training options: learning rate must be finite and > 0, got 0.0");
        Run nan = run("train", "--lr", "NaN", "--out", out.toString());
        assertThat(nan.err()).contains("learning rate");
        Run batch = run("train", "--batch-size", "0", "--out", out.toString());
        assertThat(batch.err()).contains("batch size must be >= 1");
        Run data = run("train", "--data", "cifar", "--out", out.toString());
        assertThat(data.err()).contains("--data: unknown dataset 'cifar'");
        Run pred = run("train", "--prediction", "score", "--out", out.toString());
        assertThat(pred.err()).contains("--prediction: unknown prediction type 'score'");
        Run depth = run("train", "--data", "folder:" + dir.resolve("imgs"), "--image-size", "10", "--channels",
                "8,16,16", "--out", out.toString());
        assertThat(depth.err()).contains("--channels: sample_size 10 must be a positive multiple of 4 to pass 2 "
                + "downsamplings");
        Run every = run("train", "--checkpoint-every", "-1", "--out", out.toString());
        assertThat(every.err()).contains("--checkpoint-every/--keep-last/--max-skipped-steps: checkpoint interval");
        Run skipped = run("train", "--max-skipped-steps", "0", "--out", out.toString());
        assertThat(skipped.err()).contains("max skipped steps must be >= 1");
        Run pickle = run("train", "--steps", "2", "--resume", dir.resolve("old.pt").toString(), "--out",
                out.toString());
        assertThat(pickle.err()).contains("old.pt", "pickle");
        Run eta = run("sample", "--checkpoint", demo.resolve("model.safetensors").toString(), "--eta", "2",
                "--out", dir.resolve("e.png").toString());
        assertThat(eta.err()).contains("eta must be in [0, 1]");
        assertThat(out).doesNotExist();
    }

    @Test
    void usageErrorsExitWithTwo() {
        Run r = run("train", "--no-such-option", "--out", dir.resolve("u.safetensors").toString());
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("Unknown option", "--no-such-option");
    }

    @Test
    void outputsAreNeverOverwrittenSilentlyAndNeverOverInputs() throws IOException {
        Path ck = demo.resolve("model.safetensors");
        Path existing = dir.resolve("existing.png");
        Files.writeString(existing, "keep me");
        Run r = run("sample", "--checkpoint", ck.toString(), "--out", existing.toString(), "--n", "10");
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).contains(existing + " already exists; pass --overwrite");
        assertThat(Files.readString(existing)).isEqualTo("keep me");

        byte[] before = Files.readAllBytes(ck);
        Run over = run("sample", "--checkpoint", ck.toString(), "--out", ck.toString(), "--overwrite", "--n", "10");
        assertThat(over.code()).isEqualTo(1);
        assertThat(over.err()).contains("is also an input");
        assertThat(Files.readAllBytes(ck)).isEqualTo(before);

        Run trainOver = run("train", "--steps", "1", "--out", ck.toString());
        assertThat(trainOver.code()).isEqualTo(1);
        assertThat(trainOver.err()).contains("already exists");
        assertThat(Files.readAllBytes(ck)).isEqualTo(before);
    }

    @Test
    void missingAndPickleCheckpointsAreRefused() {
        Run missing = run("sample", "--checkpoint", dir.resolve("none.safetensors").toString(), "--out",
                dir.resolve("m.png").toString());
        assertThat(missing.code()).isEqualTo(1);
        assertThat(missing.err()).contains("none.safetensors");
        Run pickle = run("sample", "--checkpoint", dir.resolve("model.ckpt").toString(), "--out",
                dir.resolve("p.png").toString());
        assertThat(pickle.code()).isEqualTo(1);
        assertThat(pickle.err()).contains("pickle", "safetensors.torch.save_file");
        assertThat(dir.resolve("m.png")).doesNotExist();
    }

    @Test
    void trainsAUNetOnMnistResumesItAndWritesImages() throws IOException {
        Path mnist = Shared.mnist();
        Path ck = dir.resolve("mnist/tiny.safetensors");
        String[] tiny = {"train", "--data", "mnist", "--data-dir", mnist.toString(), "--channels", "8,16",
            "--batch-size", "8"};
        Run first = run(concat(tiny, "--steps", "4", "--checkpoint-every", "2", "--out", ck.toString()));
        assertThat(first.code()).as(first.err()).isZero();
        assertThat(first.out()).contains("trained unet", "\"block_out_channels\":[8,16]", "on mnist: 4 steps");
        assertThat(Files.readAllLines(dir.resolve("mnist/tiny.loss.csv"))).hasSize(5);
        assertThat(dir.resolve("mnist/tiny-step000000002.safetensors")).isNotEmptyFile();

        // Resume the step-2 checkpoint to 6 steps: the log keeps steps 0-1, then continues.
        Path ck2 = dir.resolve("mnist/tiny.safetensors");
        Run resumed = run(concat(tiny, "--steps", "6", "--resume",
                dir.resolve("mnist/tiny-step000000002.safetensors").toString(), "--out", ck2.toString()));
        assertThat(resumed.code()).as(resumed.err()).isZero();
        assertThat(resumed.out()).contains("6 steps (resumed from tiny-step000000002.safetensors)");
        List<String> log = Files.readAllLines(dir.resolve("mnist/tiny.loss.csv"));
        assertThat(log).hasSize(7);
        assertThat(log.get(1)).startsWith("0,");
        assertThat(log.get(6)).startsWith("5,");

        Path grid = dir.resolve("mnist/grid.png");
        Path gif = dir.resolve("mnist/trajectory.gif");
        Run g = run("sample", "--checkpoint", ck2.toString(), "--sampler", "ddim", "--sampler-steps", "2", "--n", "6",
                "--out", grid.toString(), "--gif", gif.toString());
        assertThat(g.code()).as(g.err()).isZero();
        assertThat(g.out()).contains("2 frames");
        assertThat(gif).isNotEmptyFile();
        BufferedImage img = ImageIO.read(grid.toFile());
        assertThat(img.getWidth()).isEqualTo(3 * (28 * 2 + 2) + 2);
        Path pngs = dir.resolve("mnist/pngs");
        Run p = run("sample", "--checkpoint", ck2.toString(), "--sampler", "ddim", "--sampler-steps", "2", "--n", "3",
                "--out", pngs.toString(), "--format", "png");
        assertThat(p.code()).as(p.err()).isZero();
        assertThat(ImageIO.read(pngs.resolve("000002.png").toFile()).getWidth()).isEqualTo(28);
        // Image defaults: 64 samples with 20-step DPM-Solver++(3M) SDE.
        Path defaults = dir.resolve("mnist/defaults.png");
        Run d = run("sample", "--checkpoint", ck2.toString(), "--out", defaults.toString());
        assertThat(d.code()).as(d.err()).isZero();
        assertThat(d.out()).contains("sampled 64 images with dpm++3m-sde-30");
        Run again = run("sample", "--checkpoint", ck2.toString(), "--n", "3", "--out", pngs.toString(), "--format", "png");
        assertThat(again.code()).isEqualTo(1);
        assertThat(again.err()).contains("is not empty; pass --overwrite");
    }

    @Test
    void trainsOnAnImageFolder() throws IOException {
        Path images = Files.createDirectories(dir.resolve("folder/images"));
        for (int i = 0; i < 6; i++) {
            BufferedImage img = new BufferedImage(40, 30,
                    BufferedImage.TYPE_INT_RGB);
            img.setRGB(i, i, 0xFF8000);
            ImageIO.write(img, "png", images.resolve("img" + i + ".png").toFile());
        }
        Path ck = dir.resolve("folder/m.safetensors");
        Run r = run("train", "--data", "folder:" + images, "--image-size", "8", "--color", "rgb", "--channels", "8,16",
                "--steps", "2", "--batch-size", "4", "--out", ck.toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("on folder:8:rgb:" + images.toAbsolutePath(), "\"in_channels\":3");
        Path grid = dir.resolve("folder/grid.png");
        Run s = run("sample", "--checkpoint", ck.toString(), "--sampler", "ddim", "--sampler-steps", "2", "--n", "4",
                "--out", grid.toString());
        assertThat(s.code()).as(s.err()).isZero();
        assertThat(ImageIO.read(grid.toFile()).getWidth()).isEqualTo(2 * (8 * 2 + 2) + 2);
        Run bad = run("train", "--data", "folder:" + dir.resolve("folder/none"), "--steps", "1", "--out",
                dir.resolve("folder/x.safetensors").toString());
        assertThat(bad.code()).isEqualTo(1);
        assertThat(bad.err()).contains("folder/none: not a directory");
    }

    @Test
    void resumeOfAMissingOrMismatchedCheckpointFailsAndNeverStartsFresh() throws IOException {
        Path out = dir.resolve("r/model.safetensors");
        Run missing = run("train", "--steps", "2", "--resume", dir.resolve("r/none.safetensors").toString(), "--out",
                out.toString());
        assertThat(missing.code()).isEqualTo(1);
        assertThat(missing.err()).contains("none.safetensors", "refusing to start fresh");
        assertThat(out).doesNotExist();
        Run mismatch = run("train", "--steps", "3001", "--lr", "0.01", "--resume",
                demo.resolve("model.safetensors").toString(), "--out", out.toString());
        assertThat(mismatch.code()).isEqualTo(1);
        assertThat(mismatch.err()).contains("model.safetensors: cannot resume: train config (other than steps) differs");
        assertThat(out).doesNotExist();
        Run model = run("train", "--steps", "3001", "--hidden", "64", "--resume",
                demo.resolve("model.safetensors").toString(), "--out", out.toString());
        assertThat(model.err()).contains("model.safetensors: cannot resume: model config differs");
        // A corrupt copy: one flipped byte in the weights is caught by the sidecar's SHA-256.
        Path corrupt = Files.createDirectories(dir.resolve("c")).resolve("model.safetensors");
        byte[] bytes = Files.readAllBytes(demo.resolve("model.safetensors"));
        bytes[bytes.length - 5] ^= 1;
        Files.write(corrupt, bytes);
        Files.copy(demo.resolve("model.json"), Checkpoint.sidecarOf(corrupt));
        Run bad = run("train", "--steps", "3001", "--resume", corrupt.toString(), "--out", out.toString());
        assertThat(bad.code()).isEqualTo(1);
        assertThat(bad.err()).contains(corrupt + ": SHA-256", "does not match");
        // Weights without their sidecar: the sidecar is named as missing.
        Path alone = Files.createDirectories(dir.resolve("t")).resolve("model.safetensors");
        Files.copy(demo.resolve("model.safetensors"), alone);
        Run orphan = run("train", "--steps", "3001", "--resume", alone.toString(), "--out", out.toString());
        assertThat(orphan.code()).isEqualTo(1);
        assertThat(orphan.err()).contains(Checkpoint.sidecarOf(alone).toString(), "sidecar is missing");
        assertThat(out).doesNotExist();
    }

    static String[] concat(String[] a, String... b) {
        String[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    @Test
    void fileSystemFailuresAreReportedAsPathAndReason() {
        assertThat(Main.describe(new NoSuchFileException("a.safetensors")))
                .isEqualTo("a.safetensors: no such file or directory");
        assertThat(Main.describe(new AccessDeniedException("/root/x.png")))
                .isEqualTo("/root/x.png: permission denied");
        assertThat(Main.describe(new FileSystemException("d", null, "Is a directory")))
                .isEqualTo("d: Is a directory");
        assertThat(Main.describe(new FileSystemException("a", "b", "Cross-device link")))
                .isEqualTo("a -> b: Cross-device link");
        MainTest.Run r = run("train", "--data", "latents:" + Path.of("no-such-latents.pt")
                .toAbsolutePath(), "--steps", "1", "--out", "unused.safetensors");
        assertThat(r.err()).contains("no-such-latents.pt").contains("no such file");
        assertThat(Path.of("unused.safetensors")).doesNotExist();
    }

    @Test
    void runningOutOfMemoryIsOneLineNamingWhatToLower() {
        RuntimeException torch = new RuntimeException("[enforce fail at alloc_cpu.cpp:127] err == 0. DefaultCPUAllocator: "
                + "can't allocate memory: you tried to allocate 313600000 bytes. Error code 12 (Cannot allocate memory)\n"
                + "frame #0: c10::ThrowEnforceNotMet(char const*, int, char const*) + 0x68");
        assertThat(Main.outOfMemory(torch, new SampleCommand())).isEqualTo(
                "out of memory: an allocation of 299 MiB failed; lower --batch-size");
        assertThat(Main.outOfMemory(new IllegalStateException("wrapped", new OutOfMemoryError("Java heap space")),
                new TrainCommand())).isEqualTo("out of memory: the Java heap is full (Java heap space); lower "
                + "--batch-size, or the model's size (--channels, --hidden, --depth)");
        assertThat(Main.outOfMemory(new RuntimeException("std::bad_alloc"), new Object()))
                .isEqualTo("out of memory: an allocation failed; try smaller inputs");
        assertThat(Main.outOfMemory(new IllegalArgumentException("--n must be >= 1"), new SampleCommand())).isNull();
    }
}
