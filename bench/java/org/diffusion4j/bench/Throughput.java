package org.diffusion4j.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.diffusion4j.checkpoint.Json;
import org.diffusion4j.checkpoint.Safetensors;
import org.diffusion4j.model.Parameters;
import org.diffusion4j.run.LoadedModel;
import org.diffusion4j.sampler.NoiseSource;
import org.diffusion4j.sampler.Step;
import org.diffusion4j.sampler.StepListener;
import org.diffusion4j.sampler.Steps;
import org.diffusion4j.sampling.SamplerSpec;
import org.diffusion4j.schedule.NoiseLevel;
import org.diffusion4j.schedule.TimestepSpacing;
import org.diffusion4j.sampler.DdpmSampler;
import org.diffusion4j.tensor.Scopes;
import org.diffusion4j.tensor.Torch;

/**
 * Sampling throughput of a checkpoint with the sampler `sample` gives it by default, for the PyTorch twin of the same
 * loop (bench/torch_sample.py). Prints one JSON line.
 * <ul>
 *   <li>{@code prepare DIR CHECKPOINT BATCH}: loads the checkpoint as `sample` does (EMA weights) and writes its
 *       weights, the sampler's noise levels or DDPM steps, the starting noise and every noise draw of one run
 *       (seed 0), so that both sides run the same arithmetic on the same inputs.</li>
 *   <li>{@code run DIR REPEATS}: {@link #WARMUP} network evaluations, then REPEATS timed loops replaying the recorded
 *       noise; the median
 *       time, images per second, and the output for comparison with the twin's.</li>
 * </ul>
 */
public final class Throughput {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Network evaluations before the timed loops (torch_sample.py does the same). */
    static final int WARMUP = 3;

    private Throughput() {}

    public static void main(String[] args) throws Exception {
        Torch.init();
        ObjectNode out = switch (args[0]) {
            case "prepare" -> prepare(Path.of(args[1]), Path.of(args[2]), Integer.parseInt(args[3]));
            case "run" -> run(Path.of(args[1]), Integer.parseInt(args[2]));
            default -> throw new IllegalArgumentException("unknown mode " + args[0]);
        };
        out.put("peak_rss_mb", Bench.peakRssMb());
        System.out.println(JSON.writeValueAsString(out));
    }

    /** The sampler `sample` runs on this model by default (see SamplerOptions): images clip to [-1, 1]. */
    static SamplerSpec defaultSpec(LoadedModel m) {
        boolean images = m.sampleShape().length == 3;
        return new SamplerSpec(SamplerSpec.defaultKind(images, m.process()),
                SamplerSpec.defaultSteps(images, m.process()), 0, TimestepSpacing.TRAILING,
                DdpmSampler.Variance.FIXED_SMALL, images && !m.isLatent());
    }

    static ObjectNode prepare(Path dir, Path checkpoint, int batch) throws IOException {
        Files.createDirectories(dir);
        LoadedModel m = LoadedModel.load(checkpoint, true);
        SamplerSpec spec = defaultSpec(m);
        ObjectNode setup = JSON.createObjectNode();
        setup.put("checkpoint", checkpoint.toString()).put("model_type", m.networkConfig().modelType())
                .put("prediction", m.prediction()).put("sampler", spec.label(m.schedule())).put("clip", spec.clip())
                .put("batch", batch);
        setup.set("model", Json.toTree(m.networkConfig()));
        if (spec.kind() == SamplerSpec.Kind.DDPM) {
            ArrayNode steps = setup.putArray("steps");
            for (Step s : spec.stepsFor(m.schedule())) {
                steps.addArray().add(s.timestep()).add(s.alphaBar()).add(s.alphaBarPrev());
            }
        } else if (spec.kind() == SamplerSpec.Kind.DPMPP_3M_SDE) {
            ArrayNode levels = setup.putArray("levels");
            for (NoiseLevel l : spec.levelsFor(m.process())) {
                levels.addArray().add(l.timestep()).add(l.alpha()).add(l.sigma());
            }
        } else {
            throw new IllegalArgumentException("the twin knows DDPM and DPM-Solver++(3M) SDE, not " + spec.kind());
        }
        long[] shape = new long[m.sampleShape().length + 1];
        shape[0] = batch;
        System.arraycopy(m.sampleShape(), 0, shape, 1, m.sampleShape().length);
        NoiseSource fresh = NoiseSource.perSample(0, 0, batch);
        Tensor xT = fresh.next(shape);
        List<Tensor> draws = new ArrayList<>();
        NoiseSource recording = s -> {
            Tensor d = Scopes.detach(fresh.next(s));
            draws.add(d);
            return d;
        };
        Tensor x0 = spec.run(m.denoiser(), m.process(), xT, recording, StepListener.NONE);
        Map<String, Tensor> noise = new LinkedHashMap<>();
        noise.put("x_T", xT);
        TensorVector v = new TensorVector();
        draws.forEach(v::push_back);
        noise.put("draws", draws.isEmpty() ? torch.zeros(0) : torch.stack(v));
        noise.put("reference", x0.contiguous());
        Safetensors.write(dir.resolve("noise.safetensors"), noise, Map.of());
        Safetensors.write(dir.resolve("model.safetensors"), Parameters.named(m.network().module()), Map.of());
        Files.writeString(dir.resolve("setup.json"), setup.toPrettyString());
        ObjectNode o = JSON.createObjectNode();
        o.put("mode", "prepare").put("sampler", spec.label(m.schedule())).put("batch", batch)
                .put("draws", draws.size()).put("parameters", Parameters.count(m.network().module()));
        return o;
    }

    static ObjectNode run(Path dir, int repeats) throws IOException {
        ObjectNode setup = (ObjectNode) JSON.readTree(dir.resolve("setup.json").toFile());
        LoadedModel m = LoadedModel.load(Path.of(setup.get("checkpoint").asText()), true);
        SamplerSpec spec = defaultSpec(m);
        Map<String, Tensor> noise = Safetensors.read(dir.resolve("noise.safetensors")).tensors();
        Tensor xT = noise.get("x_T");
        Tensor draws = noise.get("draws");
        // Warm-up: a few network evaluations, so that oneDNN has chosen its kernels for this shape.
        NoiseLevel first = (spec.kind() == SamplerSpec.Kind.DDPM ? Steps.levels(spec.stepsFor(m.schedule()))
                : spec.levelsFor(m.process())).get(0);
        for (int i = 0; i < WARMUP; i++) {
            try (PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
                m.denoiser().predict(xT, first);
            }
        }
        List<Double> times = new ArrayList<>();
        Tensor last = null;
        for (int r = 0; r < repeats; r++) {
            int[] next = {0};
            NoiseSource replay = s -> draws.select(0, next[0]++);
            try (PointerScope scope = new PointerScope()) {
                long start = System.nanoTime();
                Tensor x0 = spec.run(m.denoiser(), m.process(), xT, replay, StepListener.NONE);
                times.add((System.nanoTime() - start) / 1e6);
                if (r == repeats - 1) {
                    last = Scopes.detach(x0);
                }
            }
        }
        Bench.writeFloats(last, dir.resolve("java-out.f32"));
        double ms = Bench.median(times);
        int batch = Math.toIntExact(xT.size(0));
        ObjectNode o = JSON.createObjectNode();
        o.put("mode", "throughput").put("sampler", spec.label(m.schedule())).put("batch", batch).put("sample_ms", ms)
                .put("images_per_s", batch / (ms / 1000))
                .put("max_abs_diff_vs_prepare", last.sub(noise.get("reference")).abs().max().item_double());
        return o;
    }
}
