package org.diffusion4j.bench;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.DoubleUnaryOperator;
import javax.imageio.ImageIO;

/**
 * Turns bench/run's results.jsonl into the README's tables, checks issue 6's targets against them (each figure a
 * ratio against a baseline measured in the same run) and draws quality.png. Usage: Report DIR.
 */
public final class Report {
    private Report() {}

    /**
     * SD 1.5's U-Net step (batch 2: one guided step) per side and precision: median seconds with the range of its
     * steps, GFLOP/s from the analytic count, the share of the matmul peak of that precision, and the peak RSS; the
     * issue's target is bf16 at >= 45% of the bf16 peak at 512x512.
     */
    static String stableDiffusion(Map<String, JsonNode> r, double peak32, double peak16, List<String> checks) {
        StringBuilder md = new StringBuilder();
        boolean header = false;
        for (int side : new int[] {256, 512}) {
            for (String precision : new String[] {"fp32", "bf16"}) {
                JsonNode sd = r.get("sd-unet/" + side + "-" + precision);
                if (sd == null) {
                    continue;
                }
                if (!header) {
                    md.append("\nStable Diffusion 1.5 U-Net, one denoising step with guidance (batch 2, 77 tokens, "
                            + "859,520,964 parameters, random weights; GFLOP/s from the analytic count of its "
                            + "convolutions, linears and attention matmuls)\n\n");
                    md.append("| size | precision | seconds per step: median (range) | GFLOP/s | of the matmul peak | "
                            + "peak RSS |\n|---|---|---|---|---|---|\n");
                    header = true;
                }
                double[] steps = new double[sd.get("step_s").size()];
                for (int i = 0; i < steps.length; i++) {
                    steps[i] = sd.get("step_s").get(i).asDouble();
                }
                double[] sorted = steps.clone();
                Arrays.sort(sorted);
                double median = sorted[sorted.length / 2];
                double gflops = sd.get("flops_per_step").asDouble() / median / 1e9;
                double peak = precision.equals("bf16") ? peak16 : peak32;
                md.append(String.format(Locale.ROOT, "| %dx%d | %s | %.1f (%.1f-%.1f) | %.0f | %.0f%% | %.1f GB |%n",
                        side, side, precision, median, sorted[0], sorted[sorted.length - 1], gflops,
                        100 * gflops / peak, sd.get("peak_rss_mb").asDouble() / 1024));
                if (side == 512 && precision.equals("bf16")) {
                    // The slowest step decides: the whole range must clear the target.
                    double worst = sd.get("flops_per_step").asDouble() / sorted[sorted.length - 1] / 1e9 / peak;
                    checks.add(check(worst >= 0.45, String.format(Locale.ROOT, "SD 1.5 U-Net step at 512x512 in "
                            + "bf16: %.0f%% of the bf16 matmul peak in its slowest step (target >= 45%%)",
                            100 * worst)));
                }
            }
        }
        return md.toString();
    }

    /** The twins Throughput and torch_sample.py run, with what they sample. */
    static final Map<String, String> THROUGHPUT = Map.of(
            "throughput-unet", "shipped MNIST U-Net (models/mnist-unet)",
            "throughput-mlp", "2-D MLP (the default job's swiss roll model)");

    /**
     * The headline: images (or points) per second of a whole sampling loop, Java against the PyTorch twin of the
     * same loop on the same weights, starting noise and noise draws, in alternated rounds; INFO rows in checks.
     */
    static String throughput(Map<String, JsonNode> r, Map<String, List<JsonNode>> rounds, List<String> checks) {
        StringBuilder md = new StringBuilder();
        for (String cfg : List.of("throughput-unet", "throughput-mlp")) {
            JsonNode prep = r.get(cfg + "/prepare");
            Rounds t = Rounds.of(rounds, cfg, "sample", "sample_ms");
            if (prep == null || t == null) {
                continue;
            }
            if (md.length() == 0) {
                md.append("Sampling throughput (a whole sampling loop in fp32, the sampler `sample` gives the model by "
                        + "default; PyTorch runs a twin of the loop on the same weights, starting noise and noise "
                        + "draws)\n\n| model | sampler | batch | per second: Java / PyTorch, median (range) | "
                        + "time ratio Java / PyTorch | outputs max abs diff |\n|---|---|---|---|---|---|\n");
            }
            int batch = prep.get("batch").asInt();
            double[] java = perSecond(t.java(), batch);
            double[] torch = perSecond(t.torch(), batch);
            JsonNode torchRun = r.get(cfg + "/torch-sample");
            double diff = torchRun == null ? Double.NaN : torchRun.path("max_abs_diff_vs_java").asDouble(Double.NaN);
            double[] ratios = t.ratios();
            md.append(String.format(Locale.ROOT, "| %s | %s | %d | %.1f (%.1f-%.1f) / %.1f (%.1f-%.1f) | %.2f "
                    + "(%.2f-%.2f) | %.1e |%n", THROUGHPUT.get(cfg), prep.get("sampler").asText(), batch,
                    Rounds.median(java), Rounds.min(java), Rounds.max(java), Rounds.median(torch), Rounds.min(torch),
                    Rounds.max(torch), Rounds.median(ratios), Rounds.min(ratios), Rounds.max(ratios), diff));
            checks.add(t.check(Double.NaN, cfg.substring("throughput-".length()) + ": " + prep.get("sampler").asText()
                    + " sampling time, Java / PyTorch"));
        }
        return md.length() == 0 ? "" : md.append('\n').toString();
    }

    /**
     * DiT-S/2 at 256 tokens: the forward pass and a forward + backward, Java against the PyTorch twin in alternated
     * rounds (INFO rows: the issue names no target), and how far the two outputs are apart.
     */
    static String dit(Path dir, Map<String, JsonNode> r, Map<String, List<JsonNode>> rounds, List<String> checks)
            throws IOException {
        JsonNode prep = r.get("dit/prepare");
        if (prep == null) {
            return "";
        }
        StringBuilder md = new StringBuilder(String.format(Locale.ROOT, "DiT-S/2 (width 384, 12 blocks, 6 heads, "
                + "patch 2; %,d parameters) on 4x32x32 latents (%d tokens), batch %d, fp32; PyTorch runs the same "
                + "blocks written directly in PyTorch, on the same weights and inputs%n%n| pass | Java, ms | PyTorch, "
                + "ms | time ratio Java / PyTorch |%n|---|---|---|---|%n", prep.get("parameters").asLong(),
                prep.get("tokens").asInt(), prep.get("batch").asInt()));
        for (String[] m : new String[][] {{"forward", "forward_ms", "forward (no grad)"},
            {"train", "step_ms", "forward + backward"}}) {
            Rounds t = Rounds.of(rounds, "dit", m[0], m[1]);
            if (t == null) {
                continue;
            }
            double[] ratios = t.ratios();
            md.append(String.format(Locale.ROOT, "| %s | %s | %s | %.2f (%.2f-%.2f) |%n", m[2], Rounds.summary(t.java()),
                    Rounds.summary(t.torch()), Rounds.median(ratios), Rounds.min(ratios), Rounds.max(ratios)));
            checks.add(t.check(Double.NaN, "DiT-S/2 " + m[2] + " time, Java / PyTorch"));
        }
        Path a = dir.resolve("dit").resolve("java-forward-fp32.f32");
        Path b = dir.resolve("dit").resolve("torch-forward.f32");
        if (Files.exists(a) && Files.exists(b)) {
            md.append(String.format(Locale.ROOT, "%nJava and PyTorch outputs on the same weights and inputs differ by "
                    + "at most %.1e.%n", maxAbsDiff(a, b)));
        }
        return md.append('\n').toString();
    }

    private static double[] perSecond(double[] ms, int batch) {
        return Arrays.stream(ms).map(v -> batch / (v / 1000)).toArray();
    }

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        ObjectMapper json = new ObjectMapper();
        Map<String, JsonNode> r = new LinkedHashMap<>();
        Map<String, String> failed = new LinkedHashMap<>();
        Map<String, List<JsonNode>> rounds = new LinkedHashMap<>();
        for (String line : Files.readAllLines(dir.resolve("results.jsonl"))) {
            if (line.isBlank()) {
                continue;
            }
            JsonNode node;
            try {
                node = json.readTree(line);
            } catch (JsonProcessingException e) {
                failed.put("(unreadable line)", line.length() > 120 ? line.substring(0, 120) + "..." : line);
                continue;
            }
            String name = node.path("name").asText("(unnamed)");
            if (node.has("error")) {
                failed.put(name, node.get("error").asText());
            } else if (name.matches(".*@\\d+")) {
                rounds.computeIfAbsent(name.substring(0, name.lastIndexOf('@')), k -> new ArrayList<>())
                        .add(node.get("result"));
            } else {
                r.put(name, node.get("result"));
            }
        }
        // A measurement taken in rounds stands in the tables as its medians; the rounds give the ranges.
        rounds.forEach((name, list) -> r.put(name, Rounds.medianNode(list)));
        StringBuilder md = new StringBuilder();
        List<String> checks = new ArrayList<>();
        StringBuilder notes = new StringBuilder();
        JsonNode machine = r.get("machine");
        if (machine != null) {
            md.append(String.format(Locale.ROOT, "Machine: %s (%s), %d cores, %d GB; %s against PyTorch %s%s; %d "
                    + "rounds of Java and PyTorch alternated%n%n", machine.path("cpu").asText(),
                    machine.path("flags").asText(), machine.path("cores").asInt(), machine.path("memory_gb").asInt(),
                    machine.path("libtorch").asText(), machine.path("pytorch").asText(),
                    machine.has("pytorch_blas") ? " (BLAS " + machine.get("pytorch_blas").asText() + ")" : "",
                    machine.path("rounds").asInt()));
        }
        if (r.isEmpty()) {
            md.append("No measurement succeeded.\n\n");
        }
        if (!failed.isEmpty()) {
            md.append("Failed measurements (their rows and targets are left out):\n\n");
            failed.forEach((name, error) -> md.append("- ").append(name).append(": ").append(error).append('\n'));
            md.append('\n');
        }
        JsonNode mm = r.get("matmul");
        double peak32 = mm != null ? mm.get("fp32_gflops").asDouble() : Double.NaN;
        double peak16 = mm != null ? mm.get("bf16_gflops").asDouble() : Double.NaN;
        md.append(String.format(Locale.ROOT, "Matmul peak (2048x2048, 2 threads): fp32 %.0f GFLOP/s, bf16 %.0f GFLOP/s"
                + "%n%n", peak32, peak16));
        md.append(throughput(r, rounds, checks));
        md.append(dit(dir, r, rounds, checks));
        StringBuilder sampling = new StringBuilder();
        md.append("Training (one optimizer step: forward, backward, clip, AdamW, EMA)\n\n");
        md.append("| U-Net | params | batch | fp32 step: Java / PyTorch | ratio | Java bf16 step | "
                + "bf16 speed-up (alternated runs) | loss max rel. diff vs PyTorch | GFLOP/s fp32 (of fp32 peak) | GFLOP/s bf16 (of bf16 peak) | "
                + "peak RSS: Java / PyTorch |\n");
        md.append("|---|---|---|---|---|---|---|---|---|---|---|\n");
        sampling.append("Sampling (no-grad forward passes; a DDIM loop of 10 steps from the same noise)\n\n");
        sampling.append("| U-Net | batch | forward fp32: Java / PyTorch | ratio | Java bf16 forward | forward GFLOP/s "
                + "fp32 / bf16 (of peak) | DDIM-10 fp32: Java / PyTorch | ratio | Java bf16 DDIM-10 | samples max abs "
                + "diff | peak RSS: Java / PyTorch |\n");
        sampling.append("|---|---|---|---|---|---|---|---|---|---|---|\n");
        double bestPeakShare = 0;
        for (String cfg : new String[] {"small", "wide"}) {
            List<String> missing = new ArrayList<>();
            for (String part : new String[] {"prepare", "java-train-fp32", "java-train-bf16", "torch-train",
                "java-forward-fp32", "java-forward-bf16", "torch-forward", "java-sample-fp32", "java-sample-bf16",
                "torch-sample"}) {
                if (!r.containsKey(cfg + "/" + part)) {
                    missing.add(cfg + "/" + part);
                }
            }
            if (!missing.isEmpty()) {
                notes.append("- ").append(cfg).append(": not reported, missing ").append(String.join(", ", missing))
                        .append('\n');
                continue;
            }
            try {
                JsonNode prep = r.get(cfg + "/prepare");
                JsonNode j32 = r.get(cfg + "/java-train-fp32");
                JsonNode j16 = r.get(cfg + "/java-train-bf16");
                JsonNode pt = faster(r, cfg + "/torch-train", "step_ms");
                JsonNode jf32 = r.get(cfg + "/java-forward-fp32");
                JsonNode jf16 = r.get(cfg + "/java-forward-bf16");
                JsonNode pf = faster(r, cfg + "/torch-forward", "forward_ms");
                JsonNode js32 = r.get(cfg + "/java-sample-fp32");
                JsonNode js16 = r.get(cfg + "/java-sample-bf16");
                JsonNode ps = faster(r, cfg + "/torch-sample", "sample_ms");
                if (prep.get("parameters").asLong() != pt.get("parameters").asLong()) {
                    throw new IllegalStateException(cfg + ": parameter counts differ: " + prep.get("parameters") + " vs "
                            + pt.get("parameters"));
                }
                String name = cfg + " " + prep.get("channels").asText();
                double ratio = j32.get("step_ms").asDouble() / pt.get("step_ms").asDouble();
                // The interleaved runs when present: separate JVMs minutes apart see different loads.
                JsonNode ab = r.get(cfg + "/java-train-ab");
                double speedup = ab != null ? ab.get("bf16_speedup").asDouble()
                        : j32.get("step_ms").asDouble() / j16.get("step_ms").asDouble();
                double lossDiff = 0;
                for (int i = 0; i < j32.get("losses").size(); i++) {
                    double a = j32.get("losses").get(i).asDouble();
                    double b = pt.get("losses").get(i).asDouble();
                    lossDiff = Math.max(lossDiff, Math.abs(a - b) / Math.abs(b));
                }
                // Backward costs about twice the forward, so a train step is about 3 forward passes of FLOPs.
                double fwdFlops = pf.get("forward_flops").asDouble();
                double g32 = 3 * fwdFlops / (j32.get("step_ms").asDouble() * 1e6);
                double g16 = 3 * fwdFlops / (j16.get("step_ms").asDouble() * 1e6);
                double f32 = fwdFlops / (jf32.get("forward_ms").asDouble() * 1e6);
                double f16 = fwdFlops / (jf16.get("forward_ms").asDouble() * 1e6);
                bestPeakShare = Math.max(bestPeakShare, Math.max(g32 / peak32, g16 / peak16));
                md.append(String.format(Locale.ROOT, "| %s | %,d | %d | %.0f / %.0f ms | %.2f | %.0f ms | %.2fx | %.1e "
                        + "| %.0f (%.0f%%) | %.0f (%.0f%%) | %.0f / %.0f MB |%n", name, prep.get("parameters").asLong(),
                        prep.get("batch").asInt(), j32.get("step_ms").asDouble(), pt.get("step_ms").asDouble(), ratio,
                        j16.get("step_ms").asDouble(), speedup, lossDiff, g32, 100 * g32 / peak32, g16,
                        100 * g16 / peak16, j32.get("peak_rss_mb").asDouble(), pt.get("peak_rss_mb").asDouble()));
                double fwdRatio = jf32.get("forward_ms").asDouble() / pf.get("forward_ms").asDouble();
                double sampleRatio = js32.get("sample_ms").asDouble() / ps.get("sample_ms").asDouble();
                double sampleDiff = maxAbsDiff(dir.resolve(cfg).resolve("java-sample-fp32.f32"),
                        dir.resolve(cfg).resolve("torch-sample.f32"));
                sampling.append(String.format(Locale.ROOT, "| %s | %d | %.0f / %.0f ms | %.2f | %.0f ms | %.0f (%.0f%%) / "
                        + "%.0f (%.0f%%) | %.2f / %.2f s | %.2f | %.2f s | %.1e | %.0f / %.0f MB |%n", name,
                        prep.get("batch").asInt(), jf32.get("forward_ms").asDouble(), pf.get("forward_ms").asDouble(),
                        fwdRatio, jf16.get("forward_ms").asDouble(), f32, 100 * f32 / peak32, f16, 100 * f16 / peak16,
                        js32.get("sample_ms").asDouble() / 1000, ps.get("sample_ms").asDouble() / 1000, sampleRatio,
                        js16.get("sample_ms").asDouble() / 1000, sampleDiff, jf32.get("peak_rss_mb").asDouble(),
                        pf.get("peak_rss_mb").asDouble()));
                double diff = maxAbsDiff(dir.resolve(cfg).resolve("java-forward-fp32.f32"),
                        dir.resolve(cfg).resolve("torch-forward.f32"));
                notes.append(String.format(Locale.ROOT, "- %s: Java and PyTorch forward outputs on the same weights and "
                        + "inputs differ by at most %.1e.", cfg, diff));
                if (ab != null) {
                    double lo = Double.MAX_VALUE;
                    double hi = 0;
                    for (JsonNode round : ab.get("round_speedups")) {
                        lo = Math.min(lo, round.asDouble());
                        hi = Math.max(hi, round.asDouble());
                    }
                    notes.append(String.format(Locale.ROOT, " bf16 speed-up from %d rounds of fp32 and bf16 training "
                            + "alternated in one JVM: %.0f against %.0f ms per step, %.2fx (rounds %.2f-%.2fx; the "
                            + "separate runs in the table: %.2fx).", ab.get("rounds").asInt(),
                            ab.get("fp32_step_ms").asDouble(), ab.get("bf16_step_ms").asDouble(), speedup, lo, hi,
                            j32.get("step_ms").asDouble() / j16.get("step_ms").asDouble()));
                }
                JsonNode blas2 = r.get(cfg + "/java-train-fp32-blas2");
                if (blas2 != null) {
                    notes.append(String.format(Locale.ROOT, " With 2 BLAS threads beside libtorch's 2 OpenMP threads "
                            + "(-Ddiffusion4j.blasThreads=2) our fp32 train step takes %.0f ms (%.2fx the default's).",
                            blas2.get("step_ms").asDouble(), blas2.get("step_ms").asDouble() / j32.get("step_ms").asDouble()));
                }
                notes.append(String.format(Locale.ROOT, " PyTorch's fp32 train step: %s.",
                        baselines(r, cfg + "/torch-train", "step_ms")));
                notes.append('\n');
                checks.add(check(speedup >= 1.4, String.format(Locale.ROOT, "%s: bf16 train step %.2fx faster than fp32 "
                        + "(target >= 1.4)", cfg, speedup)));
                checks.add(check(lossDiff < 1e-3, String.format(Locale.ROOT, "%s: fp32 loss trajectories agree to %.1e "
                        + "relative (target < 1e-3)", cfg, lossDiff)));
            } catch (RuntimeException | IOException e) {
                notes.append("- ").append(cfg).append(": could not be reported: ").append(e).append('\n');
            }
        }
        for (String cfg : new String[] {"small", "wide"}) {
            // The targets against PyTorch, read round by round.
            Rounds train = Rounds.of(rounds, cfg, "train", "step_ms");
            if (train != null) {
                checks.add(train.check(1.0, cfg + ": fp32 train step, Java / PyTorch"));
            }
            Rounds forward = Rounds.of(rounds, cfg, "forward", "forward_ms");
            if (forward != null) {
                checks.add(forward.check(cfg.equals("wide") ? 1.0 : Double.NaN, cfg + ": fp32 forward, Java / "
                        + "PyTorch"));
            }
            Rounds ddim = Rounds.of(rounds, cfg, "sample", "sample_ms");
            if (ddim != null) {
                checks.add(ddim.check(Double.NaN, cfg + ": fp32 DDIM-10 sampling, Java / PyTorch"));
            }
        }
        if (bestPeakShare > 0) {
            checks.add(check(bestPeakShare >= 0.45, String.format(Locale.ROOT, "best U-Net train step at %.0f%% of "
                    + "the matmul peak of its precision (target >= 45%%)", 100 * bestPeakShare)));
        }
        md.append('\n').append(sampling).append('\n').append(notes);
        md.append(stableDiffusion(r, peak32, peak16, checks));
        JsonNode soak = r.get("soak");
        if (soak != null) {
            // Flat means the late readings match the early ones: compare the mean of the last quarter with that of
            // the second (the first quarter still holds allocator warm-up).
            double[] train = values(soak.get("train_rss_mb"));
            double[] sample = values(soak.get("sample_rss_mb"));
            double trainRatio = quarterMean(train, 3) / quarterMean(train, 1);
            double sampleRatio = quarterMean(sample, 3) / quarterMean(sample, 1);
            md.append(String.format(Locale.ROOT, "%nSoak (small U-Net, batch %d): RSS read every %d steps.%n%n",
                    soak.get("batch").asInt(), soak.get("every").asInt()));
            md.append("| loop | length | RSS 2nd quarter | RSS last quarter | ratio | max |\n|---|---|---|---|---|---|\n");
            md.append(String.format(Locale.ROOT, "| training | %d steps | %.0f MB | %.0f MB | %.3f | %.0f MB |%n",
                    soak.get("train_steps").asInt(), quarterMean(train, 1), quarterMean(train, 3), trainRatio,
                    Arrays.stream(train).max().orElse(0)));
            md.append(String.format(Locale.ROOT, "| DDIM-50 sampling | %d evaluations | %.0f MB | %.0f MB | %.3f | "
                    + "%.0f MB |%n", soak.get("sample_evaluations").asInt(), quarterMean(sample, 1),
                    quarterMean(sample, 3), sampleRatio, Arrays.stream(sample).max().orElse(0)));
            checks.add(check(trainRatio <= 1.05 && sampleRatio <= 1.05, String.format(Locale.ROOT, "RSS flat over "
                    + "long loops: last / second quarter %.3f (training), %.3f (sampling) (target <= 1.05)",
                    trainRatio, sampleRatio)));
        }
        JsonNode sc = r.get("scaling");
        if (sc != null) {
            double one1 = sc.get("one_rank_1_thread_s").asDouble();
            double two = sc.get("two_ranks_1_thread_s").asDouble();
            double one2 = sc.get("one_rank_2_threads_s").asDouble();
            md.append(String.format(Locale.ROOT, "%nData-parallel scaling (small U-Net on MNIST, global batch %d, %d "
                    + "steps, %d cores; Gloo all-reduce over loopback)%n%n", sc.get("batch").asInt(),
                    sc.get("steps").asInt(), sc.get("cores").asInt()));
            md.append("| setup | training time | relative to 1 rank x 1 thread |\n|---|---|---|\n");
            md.append(String.format(Locale.ROOT, "| 1 rank x 1 thread | %.1f s | 1.00 |%n", one1));
            md.append(String.format(Locale.ROOT, "| 2 ranks x 1 thread | %.1f s | %.2f |%n", two, two / one1));
            JsonNode after = sc.get("two_ranks_1_thread_after_backward_s");
            if (after != null) {
                md.append(String.format(Locale.ROOT, "| 2 ranks x 1 thread, all-reduce after backward | %.1f s | %.2f |%n",
                        after.asDouble(), after.asDouble() / one1));
            }
            md.append(String.format(Locale.ROOT, "| 1 rank x 2 threads | %.1f s | %.2f |%n", one2, one2 / one1));
            md.append(String.format(Locale.ROOT, "%nScaling efficiency of 2 ranks: %.0f%% (speed-up %.2fx over 1 "
                    + "rank, ideal 2x); against 1 process using both cores' threads: %.2fx. On 2 cores this measures "
                    + "the overhead of data parallelism (all-reduce, duplicated per-step work), not a speed-up: a "
                    + "second machine would bring its own cores.%n", 100 * one1 / (2 * two), one1 / two, one2 / two));
            if (after != null) {
                md.append(String.format(Locale.ROOT, "Overlapping the all-reduce with backward (c10d's reducer) against "
                        + "all-reducing after it: %.2fx the time.%n", two / after.asDouble()));
            }
        }
        JsonNode q = r.get("quality");
        if (q != null) {
            try {
                md.append(String.format(Locale.ROOT, "%nSample quality of %s (%s)%n%n", q.get("checkpoint").asText(),
                        q.get("protocol").asText()));
                // Cost is shown as model evaluations per sample: unlike seconds, it does not depend on the machine's load.
                md.append("| sampler | model evaluations | FID | FID / floor | KID | precision | recall |\n");
                md.append("|---|---|---|---|---|---|---|\n");
                double floor = q.get("floor_fid").asDouble();
                Map<String, JsonNode> rows = new LinkedHashMap<>();
                for (JsonNode row : q.get("rows")) {
                    rows.put(row.get("sampler").asText(), row);
                    md.append(String.format(Locale.ROOT, "| %s | %d | %.3f | %.2f | %.5f | %.3f | %.3f |%n",
                            row.get("sampler").asText(), row.get("evaluations").asInt(), row.get("fid").asDouble(),
                            row.get("fid").asDouble() / floor, row.get("kid").asDouble(), row.get("precision").asDouble(),
                            row.get("recall").asDouble()));
                }
                md.append(String.format(Locale.ROOT, "| real-data floor | - | %.3f | 1.00 | %.5f | %.3f | %.3f |%n",
                        floor, q.get("floor_kid").asDouble(), q.get("floor_precision").asDouble(),
                        q.get("floor_recall").asDouble()));
                double ddpm = rows.get("ddpm-1000").get("fid").asDouble();
                double dpm = rows.get("dpm++2m-20").get("fid").asDouble();
                // The target names DPM-Solver++ at 20 steps, not a variant: the best of the 20-step rows is checked, and
                // the plain 2M ODE with uniform steps is reported beside it.
                Map.Entry<String, JsonNode> bestDpm = rows.entrySet().stream()
                        .filter(e -> e.getKey().startsWith("dpm++") && e.getKey().matches(".*-20( .*)?"))
                        .min(Comparator.comparingDouble(e -> e.getValue().get("fid").asDouble())).orElseThrow();
                double dpmBest = bestDpm.getValue().get("fid").asDouble();
                checks.add(check(dpmBest <= 1.1 * ddpm, String.format(Locale.ROOT, "DPM-Solver++ 20 steps: best variant "
                        + "%s FID %.3f vs DDPM-1000 %.3f: ratio %.2f (target <= 1.10; plain dpm++2m-20 %.2f)",
                        bestDpm.getKey(), dpmBest, ddpm, dpmBest / ddpm, dpm / ddpm)));
                double d32 = rows.get("ddim-50").get("fid").asDouble();
                double d16 = rows.get("ddim-50 bf16").get("fid").asDouble();
                checks.add(check(d16 <= 1.1 * d32, String.format(Locale.ROOT, "bf16 sampling quality: DDIM-50 FID %.3f "
                        + "(bf16) vs %.3f (fp32), ratio %.2f (target <= 1.10)", d16, d32, d16 / d32)));
                Map.Entry<String, JsonNode> best = rows.entrySet().stream()
                        .min(Comparator.comparingDouble(e -> e.getValue().get("fid").asDouble())).orElseThrow();
                double bestFid = best.getValue().get("fid").asDouble();
                checks.add(check(bestFid <= 2 * floor, String.format(Locale.ROOT, "trained model %s: best FID %.3f (%s) = "
                        + "%.2fx the real-data floor %.3f (target <= 2)", q.get("checkpoint").asText(), bestFid,
                        best.getKey(), bestFid / floor, floor)));
                plot(rows, floor, dir.resolve("quality.png"));
            } catch (RuntimeException e) {
                md.append("\nThe quality table could not be reported: ").append(e).append('\n');
            }
        }
        JsonNode demo = r.get("demo-vs-sample");
        if (demo != null) {
            double[] d = values(demo.get("demo_sample_s"));
            double[] sm = values(demo.get("sample_s"));
            double[] ratios = new double[d.length];
            for (int i = 0; i < d.length; i++) {
                ratios[i] = d[i] / sm[i];
            }
            double[] sorted = ratios.clone();
            Arrays.sort(sorted);
            checks.add(check(sorted[sorted.length - 1] <= 1.2, String.format(Locale.ROOT, "the demo's DDPM-1000 "
                    + "sampling of 2000 points against `sample` on its checkpoint, %d alternated rounds: %s s vs %s s, "
                    + "ratio median %.2f (range %.2f-%.2f; target: every round <= 1.2)", d.length,
                    Arrays.toString(d), Arrays.toString(sm), sorted[sorted.length / 2], sorted[0],
                    sorted[sorted.length - 1])));
        }
        md.append("\nTargets:\n");
        checks.forEach(c -> md.append("- ").append(c).append('\n'));
        System.out.print(md);
    }

    /**
     * The faster of PyTorch's two configurations (default, and one OpenBLAS thread as diffusion4j runs), so that the
     * comparison is against its best showing. Both write the same output files (the same computation).
     */
    private static JsonNode faster(Map<String, JsonNode> r, String name, String key) {
        JsonNode a = r.get(name);
        JsonNode b = r.get(name + "-blas1");
        return b == null || a.get(key).asDouble() <= b.get(key).asDouble() ? a : b;
    }

    private static String baselines(Map<String, JsonNode> r, String name, String key) {
        JsonNode b = r.get(name + "-blas1");
        return b == null ? String.format(Locale.ROOT, "%.0f ms", r.get(name).get(key).asDouble())
                : String.format(Locale.ROOT, "%.0f ms by default, %.0f ms with OPENBLAS_NUM_THREADS=1 (the faster is "
                + "the baseline above)", r.get(name).get(key).asDouble(), b.get(key).asDouble());
    }

    private static double maxAbsDiff(Path a, Path b) throws IOException {
        FloatBuffer x = ByteBuffer.wrap(Files.readAllBytes(a)).order(ByteOrder.LITTLE_ENDIAN)
                .asFloatBuffer();
        FloatBuffer y = ByteBuffer.wrap(Files.readAllBytes(b)).order(ByteOrder.LITTLE_ENDIAN)
                .asFloatBuffer();
        if (x.remaining() != y.remaining()) {
            throw new IllegalStateException(a + " and " + b + " differ in length");
        }
        double max = 0;
        while (x.hasRemaining()) {
            max = Math.max(max, Math.abs(x.get() - y.get()));
        }
        return max;
    }

    private static double[] values(JsonNode array) {
        double[] v = new double[array.size()];
        for (int i = 0; i < v.length; i++) {
            v[i] = array.get(i).asDouble();
        }
        return v;
    }

    /** Mean of quarter {@code q} (0-3) of {@code v}. */
    private static double quarterMean(double[] v, int q) {
        int from = q * v.length / 4;
        int to = Math.max(from + 1, (q + 1) * v.length / 4);
        return Arrays.stream(v, from, Math.min(to, v.length)).average().orElse(Double.NaN);
    }

    private static String check(boolean ok, String text) {
        return (ok ? "PASS " : "MISS ") + text;
    }

    /** FID against model evaluations (log scale), one line per sampler family, the floor dashed. */
    static void plot(Map<String, JsonNode> rows, double floor, Path file) throws IOException {
        int w = 780;
        int h = 440;
        int left = 70;
        int right = 200;
        int top = 30;
        int bottom = 50;
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, w, h);
        double maxFid = floor;
        for (JsonNode row : rows.values()) {
            maxFid = Math.max(maxFid, row.get("fid").asDouble());
        }
        maxFid *= 1.1;
        double lx0 = Math.log10(8);
        double lx1 = Math.log10(1200);
        double fMax = maxFid;
        DoubleUnaryOperator px = e -> left + (Math.log10(e) - lx0) / (lx1 - lx0) * (w - left - right);
        DoubleUnaryOperator py = f -> top + (1 - f / fMax) * (h - top - bottom);
        g.setColor(Color.GRAY);
        g.drawLine(left, h - bottom, w - right, h - bottom);
        g.drawLine(left, top, left, h - bottom);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        for (int e : new int[] {10, 20, 50, 100, 200, 500, 1000}) {
            int x = (int) px.applyAsDouble(e);
            g.drawLine(x, h - bottom, x, h - bottom + 4);
            g.drawString(Integer.toString(e), x - 10, h - bottom + 18);
        }
        for (int i = 0; i <= 4; i++) {
            double f = fMax * i / 4;
            int y = (int) py.applyAsDouble(f);
            g.drawLine(left - 4, y, left, y);
            g.drawString(String.format(Locale.ROOT, "%.1f", f), 20, y + 4);
        }
        g.drawString("model evaluations per sample (log scale)", left + 120, h - 12);
        g.drawString("FID", 10, top - 10);
        Color[] colors = {new Color(0x1f77b4), new Color(0xff7f0e), new Color(0x2ca02c), new Color(0xd62728),
            new Color(0x9467bd), new Color(0x8c564b), new Color(0xe377c2), new Color(0x17becf), new Color(0xbcbd22),
            new Color(0x7f7f7f), new Color(0x000000), new Color(0xaec7e8)};
        Map<String, List<JsonNode>> families = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : rows.entrySet()) {
            String family = e.getKey().contains("bf16") ? "ddim bf16" : e.getKey().replaceAll("-\\d+(?=$| )", "");
            families.computeIfAbsent(family, k -> new ArrayList<>()).add(e.getValue());
        }
        int c = 0;
        int legendY = top + 10;
        for (Map.Entry<String, List<JsonNode>> f : families.entrySet()) {
            g.setColor(colors[c++ % colors.length]);
            g.setStroke(new BasicStroke(2));
            int[] prev = null;
            for (JsonNode row : f.getValue()) {
                int x = (int) px.applyAsDouble(row.get("evaluations").asDouble());
                int y = (int) py.applyAsDouble(row.get("fid").asDouble());
                g.fillOval(x - 4, y - 4, 8, 8);
                if (prev != null) {
                    g.drawLine(prev[0], prev[1], x, y);
                }
                prev = new int[] {x, y};
            }
            g.fillRect(w - right + 15, legendY - 8, 10, 10);
            g.drawString(f.getKey(), w - right + 30, legendY + 2);
            legendY += 20;
        }
        g.setColor(Color.BLACK);
        g.setStroke(new BasicStroke(1, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10, new float[] {6, 4}, 0));
        int fy = (int) py.applyAsDouble(floor);
        g.drawLine(left, fy, w - right, fy);
        g.drawString("real-data floor", w - right + 15, fy + 4);
        g.dispose();
        ImageIO.write(img, "png", file.toFile());
    }
}
