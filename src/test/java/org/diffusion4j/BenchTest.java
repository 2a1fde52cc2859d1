package org.diffusion4j;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * bench/ lives outside the build, so nothing else would notice when an API change breaks it: it is compiled here
 * against the current classes, and its report is run on made-up results.
 */
class BenchTest {
    @TempDir
    static Path classes;

    @BeforeAll
    static void compileBench() throws Exception {
        List<String> args = new ArrayList<>(List.of("-d", classes.toString(), "-cp",
                System.getProperty("java.class.path"), "-Xlint:none"));
        try (Stream<Path> files = Files.walk(Path.of("bench", "java"))) {
            files.filter(f -> f.toString().endsWith(".java")).forEach(f -> args.add(f.toString()));
        }
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        ByteArrayOutputStream errors = new ByteArrayOutputStream();
        int code = javac.run(null, null, errors, args.toArray(new String[0]));
        assertThat(code).as("bench/java compiles against the current API:%n%s",
                errors.toString(StandardCharsets.UTF_8)).isZero();
    }

    private static String report(Path dir, String... lines) throws Exception {
        Files.createDirectories(dir);
        Files.write(dir.resolve("results.jsonl"), List.of(lines));
        ByteArrayOutputStream text = new ByteArrayOutputStream();
        PrintStream old = System.out;
        try (URLClassLoader loader = new URLClassLoader(new URL[] {classes.toUri().toURL()},
                BenchTest.class.getClassLoader())) {
            System.setOut(new PrintStream(text, true, StandardCharsets.UTF_8));
            loader.loadClass("org.diffusion4j.bench.Report").getMethod("main", String[].class)
                    .invoke(null, (Object) new String[] {dir.toString()});
        } finally {
            System.setOut(old);
        }
        return text.toString(StandardCharsets.UTF_8);
    }

    private static String round(String name, int r, String key, double value) {
        return "{\"name\":\"" + name + "@" + r + "\",\"result\":{\"" + key + "\":" + value + "}}";
    }

    @Test
    void reportsFailedAndMissingMeasurementsInsteadOfCrashing() throws Exception {
        assertThat(report(classes.resolve("empty"))).contains("No measurement succeeded");
        String out = report(classes.resolve("failed"), "{\"name\":\"matmul\",\"error\":\"killed\"}", "not json",
                "{\"name\":\"machine\",\"result\":{\"cpu\":\"X\",\"flags\":\"avx2\",\"cores\":2,\"memory_gb\":24,"
                        + "\"libtorch\":\"l\",\"pytorch\":\"2.6\",\"rounds\":5}}");
        assertThat(out).contains("matmul: killed", "(unreadable line)", "Machine: X (avx2), 2 cores",
                "small: not reported");
    }

    @Test
    void judgesATargetByEveryRoundsRatio() throws Exception {
        List<String> lines = new ArrayList<>();
        double[] java = {100, 102, 98, 101, 99};
        double[] wideJava = {90, 95, 104, 92, 91};
        for (int r = 1; r <= 5; r++) {
            lines.add(round("small/java-train-fp32", r, "step_ms", java[r - 1]));
            lines.add(round("small/torch-train", r, "step_ms", 120));
            lines.add(round("small/torch-train-blas1", r, "step_ms", 110));
            lines.add(round("wide/java-train-fp32", r, "step_ms", wideJava[r - 1]));
            lines.add(round("wide/torch-train-blas1", r, "step_ms", 100));
            lines.add(round("wide/java-forward-fp32", r, "forward_ms", 100 + 20 * r));
            lines.add(round("wide/torch-forward", r, "forward_ms", 100));
        }
        String out = report(classes.resolve("rounds"), lines.toArray(new String[0]));
        assertThat(out).contains("PASS small: fp32 train step, Java / PyTorch = 0.91 (rounds 0.89-0.93; "
                + "Java 100 (98-102), PyTorch 110 (110-110)");
        // One round of five above the target is enough to miss it.
        assertThat(out).contains("MISS wide: fp32 train step, Java / PyTorch = 0.92 (rounds 0.90-1.04");
        assertThat(out).contains("UNSTABLE wide: fp32 forward, Java / PyTorch");
    }

    /** The SD rows: GFLOP/s from the median step, and the bf16 target judged by the slowest step. */
    @Test
    void reportsStableDiffusionStepsAgainstThePeakOfTheirPrecision() throws Exception {
        String out = report(classes.resolve("sd"),
                "{\"name\":\"matmul\",\"result\":{\"fp32_gflops\":100,\"bf16_gflops\":200}}",
                "{\"name\":\"sd-unet/512-fp32\",\"result\":{\"step_s\":[20,10,30],\"flops_per_step\":5e11,"
                        + "\"peak_rss_mb\":8192}}",
                "{\"name\":\"sd-unet/512-bf16\",\"result\":{\"step_s\":[5,4,6],\"flops_per_step\":5e11,"
                        + "\"peak_rss_mb\":6144}}");
        assertThat(out).contains("| 512x512 | fp32 | 20.0 (10.0-30.0) | 25 | 25% | 8.0 GB |");
        assertThat(out).contains("| 512x512 | bf16 | 5.0 (4.0-6.0) | 100 | 50% | 6.0 GB |");
        // The median clears 45% of the bf16 peak, the slowest step (6 s: 42%) does not.
        assertThat(out).contains("MISS SD 1.5 U-Net step at 512x512 in bf16: 42% of the bf16 matmul peak");
    }

    /** The headline rows: per-second figures from each round's loop time, and the per-round time ratio. */
    @Test
    void reportsSamplingThroughputAsImagesPerSecondFromTheRounds() throws Exception {
        List<String> lines = new ArrayList<>();
        lines.add("{\"name\":\"throughput-unet/prepare\",\"result\":{\"sampler\":\"dpm++3m-sde-20\",\"batch\":64}}");
        double[] java = {1600, 1500, 1700};
        for (int r = 1; r <= 3; r++) {
            lines.add(round("throughput-unet/java-sample-fp32", r, "sample_ms", java[r - 1]));
            lines.add(round("throughput-unet/torch-sample", r, "sample_ms", 8000));
            lines.add(round("throughput-unet/torch-sample-blas1", r, "sample_ms", 6400));
        }
        String out = report(classes.resolve("throughput"), lines.toArray(new String[0]));
        // 64 images in 1.6 s = 40/s (1.5 s: 42.7, 1.7 s: 37.6); PyTorch's faster setting: 6.4 s = 10/s.
        assertThat(out).contains("| shipped MNIST U-Net (models/mnist-unet) | dpm++3m-sde-20 | 64 | "
                + "40.0 (37.6-42.7) / 10.0 (10.0-10.0) | 0.25 (0.23-0.27) |");
        assertThat(out).contains("INFO unet: dpm++3m-sde-20 sampling time, Java / PyTorch = 0.25 (rounds 0.23-0.27");
        assertThat(out).doesNotContain("2-D MLP");
    }

    /** The DiT rows: Java and PyTorch medians with their ranges, the per-round ratio, and the outputs' distance. */
    @Test
    void reportsTheDiTPassesFromTheRounds() throws Exception {
        List<String> lines = new ArrayList<>();
        lines.add("{\"name\":\"dit/prepare\",\"result\":{\"batch\":8,\"tokens\":256,\"parameters\":39805088}}");
        double[] java = {900, 1000, 1100};
        for (int r = 1; r <= 3; r++) {
            lines.add(round("dit/java-forward-fp32", r, "forward_ms", java[r - 1]));
            lines.add(round("dit/torch-forward", r, "forward_ms", 2000));
            lines.add(round("dit/torch-forward-blas1", r, "forward_ms", 1000));
        }
        Path dir = classes.resolve("dit");
        Files.createDirectories(dir.resolve("dit"));
        Files.write(dir.resolve("dit/java-forward-fp32.f32"), new byte[] {0, 0, -128, 63, 0, 0, 0, 0});
        Files.write(dir.resolve("dit/torch-forward.f32"), new byte[] {0, 0, -128, 63, 0, 0, 0, 64});
        String out = report(dir, lines.toArray(new String[0]));
        assertThat(out).contains("39,805,088 parameters", "(256 tokens), batch 8");
        assertThat(out).contains("| forward (no grad) | 1000 (900-1100) | 1000 (1000-1000) | 1.00 (0.90-1.10) |");
        assertThat(out).contains("differ by at most 2.0e+00");
        assertThat(out).contains("INFO DiT-S/2 forward (no grad) time, Java / PyTorch = 1.00");
        assertThat(out).doesNotContain("forward + backward |");
    }
}
