package org.diffusion4j.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.MemoryFormatOptional;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.diffusion4j.checkpoint.Json;
import org.diffusion4j.checkpoint.Safetensors;
import org.diffusion4j.data.DataSource;
import org.diffusion4j.model.NetworkDenoiser;
import org.diffusion4j.model.Parameterization;
import org.diffusion4j.model.Parameters;
import org.diffusion4j.model.unet.UNet2DModel;
import org.diffusion4j.model.unet.UNetConfig;
import org.diffusion4j.run.Datasets;
import org.diffusion4j.sampler.DdpmSampler;
import org.diffusion4j.sampler.NoiseSource;
import org.diffusion4j.sampler.StepListener;
import org.diffusion4j.sampling.SamplerSpec;
import org.diffusion4j.schedule.DiffusionProcess;
import org.diffusion4j.schedule.ForwardProcess;
import org.diffusion4j.schedule.NoiseSchedule;
import org.diffusion4j.schedule.ScheduleConfig;
import org.diffusion4j.schedule.TimestepSpacing;
import org.diffusion4j.tensor.Autocast;
import org.diffusion4j.tensor.Rng;
import org.diffusion4j.tensor.Scopes;
import org.diffusion4j.tensor.Tensors;
import org.diffusion4j.tensor.Torch;
import org.diffusion4j.schedule.TimeSampling;
import org.diffusion4j.train.TrainConfig;
import org.diffusion4j.train.Trainer;

/**
 * The Java side of bench/run. Each mode runs in its own JVM (so its peak RSS is its own) and prints one JSON line.
 * <ul>
 *   <li>{@code prepare DIR CHANNELS BATCH STEPS}: a U-Net's initial weights, its config and STEPS fixed MNIST batches
 *       with the timesteps, noise and learning rates the trainer will use, for both frameworks.</li>
 *   <li>{@code train DIR fp32|bf16}: the product's {@link Trainer} over those batches; step times and losses.</li>
 *   <li>{@code train-ab DIR ROUNDS}: ROUNDS alternating fp32 and bf16 runs of that trainer; the bf16 speed-up.</li>
 *   <li>{@code forward DIR fp32|bf16}: no-grad forward passes of the first batch.</li>
 *   <li>{@code sample DIR fp32|bf16}: the product's DDIM sampler ({@link #SAMPLE_STEPS} trailing steps, clipped)
 *       from the first batch's noise: its time, and the samples for comparison with PyTorch's loop.</li>
 *   <li>{@code matmul}: the machine's 2048x2048 matmul peak in fp32 and bf16.</li>
 *   <li>{@code soak DIR TRAIN_STEPS SAMPLE_RUNS}: a long training loop on real MNIST batches, then SAMPLE_RUNS DDIM-50
 *       loops, with the resident set read every {@link #SOAK_EVERY} steps (it must stay flat).</li>
 * </ul>
 */
public final class Bench {
    private static final ObjectMapper JSON = new ObjectMapper();
    static final long SEED = 0;
    static final double LR = 1e-3;
    static final long WARMUP = 5;
    static final double EMA = 0.999;
    static final int FORWARD_REPEATS = 7;
    static final int SAMPLE_STEPS = 10;
    static final int SOAK_EVERY = 50;

    public static void main(String[] args) throws Exception {
        Torch.init();
        ObjectNode out = switch (args[0]) {
            case "prepare" -> prepare(Path.of(args[1]), parseInts(args[2]), Integer.parseInt(args[3]),
                    Integer.parseInt(args[4]));
            case "train" -> train(Path.of(args[1]), args[2].equals("bf16"));
            case "train-ab" -> trainAb(Path.of(args[1]), Integer.parseInt(args[2]));
            case "forward" -> forward(Path.of(args[1]), args[2].equals("bf16"));
            case "sample" -> sample(Path.of(args[1]), args[2].equals("bf16"));
            case "matmul" -> matmul();
            case "soak" -> soak(Path.of(args[1]), Integer.parseInt(args[2]), Integer.parseInt(args[3]));
            default -> throw new IllegalArgumentException("unknown mode " + args[0]);
        };
        out.put("peak_rss_mb", peakRssMb());
        System.out.println(JSON.writeValueAsString(out));
    }

    static List<Integer> parseInts(String s) {
        return Arrays.stream(s.split(",")).map(Integer::parseInt).toList();
    }

    static TrainConfig trainConfig(int batch, int steps, boolean bf16) {
        return new TrainConfig(steps, batch, LR, 0, 0.9, 0.999, 1e-8, WARMUP, 1.0, EMA, 0, Parameterization.EPS, SEED,
                bf16, TimeSampling.UNIFORM, 0, 0.1);
    }

    static ObjectNode prepare(Path dir, List<Integer> channels, int batch, int steps) throws IOException {
        Files.createDirectories(dir);
        UNetConfig config = UNetConfig.attentionBelowTop(28, 1, channels, null);
        UNet2DModel net = new UNet2DModel(config, Rng.of(SEED));
        Safetensors.write(dir.resolve("init.safetensors"), Parameters.named(net), Map.of());
        NoiseSchedule schedule = NoiseSchedule.of(ScheduleConfig.ddpmDefault());
        TrainConfig train = trainConfig(batch, steps, false);
        DataSource mnist = Datasets.resolve("mnist", null, SEED);
        Map<String, Tensor> t = new LinkedHashMap<>();
        Tensor x0 = torch.empty(steps, batch, 1, 28, 28);
        Tensor eps = torch.empty(steps, batch, 1, 28, 28);
        Tensor ts = torch.empty(new long[] {steps, batch}, new TensorOptions(torch.ScalarType.Long),
                new MemoryFormatOptional());
        double[] lr = new double[steps];
        for (int s = 0; s < steps; s++) {
            try (PointerScope scope = new PointerScope()) {
                x0.select(0, s).copy_(mnist.batch(s, batch, Rng.derive(SEED, 1_000_000 + s)));
                eps.select(0, s).copy_(Rng.derive(SEED, 2_000_000 + s).randn(batch, 1, 28, 28));
                // The trainer's own draw: its step generator's first use is the timestep.
                ts.select(0, s).copy_(Rng.derive(SEED, s).randint(0, schedule.size(), batch));
                lr[s] = train.learningRateAt(s);
            }
        }
        ForwardProcess fp = new ForwardProcess(schedule);
        Tensor all = torch.arange(Tensors.scalar(schedule.size())).to(torch.ScalarType.Long);
        t.put("x0", x0);
        t.put("eps", eps);
        t.put("t", ts);
        t.put("lr", Tensors.fromDoubles(lr, steps));
        t.put("alpha", fp.alpha(all, 1));
        t.put("sigma", fp.sigma(all, 1));
        Safetensors.write(dir.resolve("batches.safetensors"), t, Map.of());
        ObjectNode setup = JSON.createObjectNode();
        setup.set("model", Json.toTree(config));
        setup.put("adam_eps", 1e-8).put("grad_clip", 1.0).put("ema_decay", EMA).put("forward_repeats", FORWARD_REPEATS)
                .put("sample_steps", SAMPLE_STEPS);
        Files.writeString(dir.resolve("config.json"), setup.toPrettyString());
        ObjectNode o = JSON.createObjectNode();
        o.put("mode", "prepare").put("channels", channels.toString().replace(" ", "")).put("parameters", Parameters.count(net))
                .put("batch", batch).put("steps", steps);
        return o;
    }

    private static UNet2DModel load(Path dir) throws IOException {
        JsonNode setup = JSON.readTree(dir.resolve("config.json").toFile());
        UNetConfig config = Json.fromTree(setup.get("model"), UNetConfig.class, "config.json");
        UNet2DModel net = new UNet2DModel(config, Rng.of(SEED));
        Parameters.load(net, Safetensors.read(dir.resolve("init.safetensors")).tensors(), "init.safetensors");
        return net;
    }

    /** "bf16" or "fp32". */
    private static String label(boolean bf16) {
        return bf16 ? "bf16" : "fp32";
    }

    static ObjectNode train(Path dir, boolean bf16) throws IOException {
        UNet2DModel net = load(dir);
        Map<String, Tensor> b = Safetensors.read(dir.resolve("batches.safetensors")).tensors();
        Tensor x0 = Scopes.detach(b.get("x0"));
        Tensor eps = Scopes.detach(b.get("eps"));
        List<Double> losses = new ArrayList<>();
        List<Double> times = trainSteps(net, x0, eps, bf16, losses);
        ObjectNode o = JSON.createObjectNode();
        o.put("mode", "train").put("precision", label(bf16)).put("parameters", Parameters.count(net));
        ArrayNode l = o.putArray("losses");
        losses.forEach(l::add);
        o.put("step_ms", median(times.size() > 4 ? times.subList(2, times.size()) : times));
        return o;
    }

    /**
     * fp32 and bf16 training of the same initial weights, alternating runs over the batches in one JVM: on a shared,
     * noisy machine this compares the two precisions under the same load, which separate JVMs minutes apart do not.
     */
    static ObjectNode trainAb(Path dir, int rounds) throws IOException {
        Map<String, Tensor> b = Safetensors.read(dir.resolve("batches.safetensors")).tensors();
        Tensor x0 = Scopes.detach(b.get("x0"));
        Tensor eps = Scopes.detach(b.get("eps"));
        List<Double> fp32 = new ArrayList<>();
        List<Double> bf16 = new ArrayList<>();
        ObjectNode o = JSON.createObjectNode();
        ArrayNode perRound = o.putArray("round_speedups");
        // One network per precision; each round trains it on from where the last left off (same op shapes).
        UNet2DModel[] nets = {load(dir), load(dir)};
        for (int r = 0; r < rounds; r++) {
            double[] roundMedian = new double[2];
            for (int half = 0; half < 2; half++) {
                List<Double> times = trainSteps(nets[half], x0, eps, half == 1, new ArrayList<>());
                List<Double> kept = times.subList(2, times.size());
                (half == 1 ? bf16 : fp32).addAll(kept);
                roundMedian[half] = median(kept);
            }
            perRound.add(roundMedian[0] / roundMedian[1]);
        }
        o.put("mode", "train-ab").put("rounds", rounds).put("fp32_step_ms", median(fp32))
                .put("bf16_step_ms", median(bf16)).put("bf16_speedup", median(fp32) / median(bf16));
        return o;
    }

    /** Runs the product's trainer over the fixed batches; returns each step's wall time and adds its loss. */
    private static List<Double> trainSteps(UNet2DModel net, Tensor x0, Tensor eps, boolean bf16, List<Double> losses) {
        int steps = Math.toIntExact(x0.size(0));
        int batch = Math.toIntExact(x0.size(1));
        DataSource fixed = new DataSource() {
            @Override
            public Tensor batch(long step, int batchSize, Rng rng) {
                return x0.select(0, step);
            }

            @Override
            public Batch labeledBatch(long step, int batchSize, Rng rng) {
                return new Batch(x0.select(0, step), null, eps.select(0, step));
            }

            @Override
            public int numClasses() {
                return 0;
            }

            @Override
            public long[] sampleShape() {
                return new long[] {1, 28, 28};
            }

            @Override
            public String id() {
                return "bench";
            }
        };
        Trainer trainer = new Trainer(net, NoiseSchedule.of(ScheduleConfig.ddpmDefault()), fixed,
                trainConfig(batch, steps, bf16));
        List<Double> times = new ArrayList<>();
        long[] last = {System.nanoTime()};
        trainer.train(s -> {
            long now = System.nanoTime();
            times.add((now - last[0]) / 1e6);
            last[0] = now;
            losses.add(s.loss());
        });
        return times;
    }

    static ObjectNode forward(Path dir, boolean bf16) throws IOException {
        UNet2DModel net = load(dir);
        net.eval();
        Map<String, Tensor> b = Safetensors.read(dir.resolve("batches.safetensors")).tensors();
        Tensor t = b.get("t").select(0, 0);
        long rank = 4;
        ForwardProcess fp = new ForwardProcess(NoiseSchedule.of(ScheduleConfig.ddpmDefault()));
        Tensor xt = b.get("x0").select(0, 0).mul(fp.alpha(t, rank)).add(b.get("eps").select(0, 0)
                .mul(fp.sigma(t, rank)));
        Tensor tf = t.to(torch.ScalarType.Float);
        List<Double> times = new ArrayList<>();
        Tensor first;
        try (NoGradGuard g = new NoGradGuard(); Autocast cast = Autocast.bf16(bf16)) {
            first = Scopes.detach(net.forward(xt, tf).to(torch.ScalarType.Float).contiguous());
            for (int i = 0; i < FORWARD_REPEATS; i++) {
                try (PointerScope scope = new PointerScope()) {
                    long start = System.nanoTime();
                    net.forward(xt, tf);
                    times.add((System.nanoTime() - start) / 1e6);
                }
            }
        }
        writeFloats(first, dir.resolve("java-forward-" + label(bf16) + ".f32"));
        ObjectNode o = JSON.createObjectNode();
        o.put("mode", "forward").put("precision", label(bf16)).put("forward_ms", median(times));
        return o;
    }

    static ObjectNode sample(Path dir, boolean bf16) throws IOException {
        UNet2DModel net = load(dir);
        net.eval();
        Tensor xT = Safetensors.read(dir.resolve("batches.safetensors")).tensors().get("eps").select(0, 0);
        NoiseSchedule schedule = NoiseSchedule.of(ScheduleConfig.ddpmDefault());
        SamplerSpec spec = new SamplerSpec(SamplerSpec.Kind.DDIM, SAMPLE_STEPS, 0, TimestepSpacing.TRAILING,
                DdpmSampler.Variance.FIXED_SMALL, true);
        NetworkDenoiser denoiser = new NetworkDenoiser(net, Parameterization.EPS);
        Tensor x0;
        double ms;
        try (Autocast cast = Autocast.bf16(bf16)) {
            Scopes.run(() -> net.forward(xT, torch.zeros(xT.size(0)))); // warm-up: oneDNN picks its kernels
            long start = System.nanoTime();
            x0 = Scopes.detach(spec.run(denoiser, new DiffusionProcess.Ddpm(schedule), xT, NoiseSource.perSample(SEED, 0,
                    Math.toIntExact(xT.size(0))), StepListener.NONE).to(torch.ScalarType.Float).contiguous());
            ms = (System.nanoTime() - start) / 1e6;
        }
        writeFloats(x0, dir.resolve("java-sample-" + label(bf16) + ".f32"));
        ObjectNode o = JSON.createObjectNode();
        o.put("mode", "sample").put("precision", label(bf16)).put("steps", SAMPLE_STEPS).put("sample_ms", ms);
        return o;
    }

    static ObjectNode soak(Path dir, int trainSteps, int sampleRuns) throws IOException {
        UNet2DModel net = load(dir);
        JsonNode setup = JSON.readTree(dir.resolve("config.json").toFile());
        int batch = Math.toIntExact(Safetensors.readHeader(dir.resolve("batches.safetensors")).tensors().stream()
                .filter(t -> t.name().equals("x0")).findFirst().orElseThrow().shape()[1]);
        Trainer trainer = new Trainer(net, NoiseSchedule.of(ScheduleConfig.ddpmDefault()),
                Datasets.resolve("mnist", null, SEED), trainConfig(batch, trainSteps, false));
        ObjectNode o = JSON.createObjectNode();
        o.put("mode", "soak").put("batch", batch).put("every", SOAK_EVERY);
        ArrayNode train = o.putArray("train_rss_mb");
        trainer.train(s -> {
            if ((s.step() + 1) % SOAK_EVERY == 0) {
                train.add(rssMb());
            }
        });
        net.eval();
        NoiseSchedule schedule = NoiseSchedule.of(ScheduleConfig.ddpmDefault());
        SamplerSpec spec = new SamplerSpec(SamplerSpec.Kind.DDIM, 50, 0, TimestepSpacing.TRAILING,
                DdpmSampler.Variance.FIXED_SMALL, true);
        NetworkDenoiser denoiser = new NetworkDenoiser(net, Parameterization.EPS);
        ArrayNode sample = o.putArray("sample_rss_mb");
        int[] evaluations = {0};
        for (int run = 0; run < sampleRuns; run++) {
            try (PointerScope scope = new PointerScope()) {
                Tensor xT = Rng.derive(SEED, run).randn(batch, 1, 28, 28);
                spec.run(denoiser, new DiffusionProcess.Ddpm(schedule), xT, NoiseSource.perSample(SEED, run * batch, batch), (i, n, x, x0) -> {
                    if (++evaluations[0] % SOAK_EVERY == 0) {
                        sample.add(rssMb());
                    }
                });
            }
        }
        o.put("train_steps", trainSteps).put("sample_evaluations", evaluations[0]);
        o.put("setup", setup.get("model").get("block_out_channels").toString());
        return o;
    }

    /** Current resident set (VmRSS), in MiB. */
    static double rssMb() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024.0;
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return -1;
    }

    /** Raw little-endian float32, as numpy's tofile writes it, for Report to compare with PyTorch's output. */
    static void writeFloats(Tensor t, Path file) throws IOException {
        float[] values = Tensors.toFloats(t);
        ByteBuffer buf = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            buf.putFloat(v);
        }
        Files.write(file, buf.array());
    }

    static ObjectNode matmul() {
        ObjectNode o = JSON.createObjectNode();
        o.put("mode", "matmul");
        int n = 2048;
        for (boolean bf16 : new boolean[] {false, true}) {
            try (PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
                Rng rng = Rng.of(SEED);
                Tensor a = rng.randn(n, n);
                Tensor c = rng.randn(n, n);
                if (bf16) {
                    a = a.to(torch.ScalarType.BFloat16);
                    c = c.to(torch.ScalarType.BFloat16);
                }
                a.matmul(c);
                List<Double> times = new ArrayList<>();
                for (int i = 0; i < 7; i++) {
                    long start = System.nanoTime();
                    a.matmul(c);
                    times.add((System.nanoTime() - start) / 1e6);
                }
                o.put(bf16 ? "bf16_gflops" : "fp32_gflops", 2.0 * n * n * n / (median(times) * 1e6));
            }
        }
        return o;
    }

    static double median(List<Double> values) {
        double[] v = values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }

    /** Peak resident set of this process (VmHWM), in MiB. */
    static double peakRssMb() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmHWM:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024.0;
            }
        }
        return -1;
    }
}
