package org.diffusion4j.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.diffusion4j.checkpoint.Json;
import org.diffusion4j.checkpoint.Safetensors;
import org.diffusion4j.model.Parameters;
import org.diffusion4j.model.dit.DiTConfig;
import org.diffusion4j.model.dit.DiTTransformer2DModel;
import org.diffusion4j.tensor.Rng;
import org.diffusion4j.tensor.Tensors;

/**
 * DiT-S/2 (Peebles &amp; Xie 2023: width 384, 12 blocks of 6 heads, patch 2) on the 4 x 32 x 32 latents of a
 * 256 x 256 image (256 tokens), class-conditional with learned sigma, against torch_dit.py's PyTorch twin on the same
 * weights and inputs. Almost all of its work is the blocks' attention and MLP.
 * <ul>
 *   <li>{@code prepare DIR BATCH}: random weights (N(0, 0.02), so every gate is open) and one batch of inputs.</li>
 *   <li>{@code forward DIR}: no-grad forward passes; the median time and the output.</li>
 *   <li>{@code train DIR}: forward and backward of a mean-square loss (no optimiser); the median time.</li>
 * </ul>
 */
public final class DiTBench {
    private static final ObjectMapper JSON = new ObjectMapper();
    static final DiTConfig DIT_S2 = new DiTConfig(32, 2, 4, 8, 12, 6, 64, 1000, 1e-5);
    static final int REPEATS = 5;

    private DiTBench() {}

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[1]);
        ObjectNode o = switch (args[0]) {
            case "prepare" -> prepare(dir, Integer.parseInt(args[2]));
            case "forward" -> run(dir, false);
            case "train" -> run(dir, true);
            default -> throw new IllegalArgumentException("mode: prepare, forward or train");
        };
        System.out.println(JSON.writeValueAsString(o));
    }

    static ObjectNode prepare(Path dir, int batch) throws Exception {
        Files.createDirectories(dir);
        try (PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
            DiTTransformer2DModel net = new DiTTransformer2DModel(DIT_S2);
            Rng rng = Rng.of(Bench.SEED);
            Map<String, Tensor> weights = new LinkedHashMap<>();
            for (var e : Parameters.named(net).entrySet()) {
                weights.put(e.getKey(), rng.randn(e.getValue().sizes().vec().get()).mul(Tensors.scalar(0.02)));
            }
            Safetensors.write(dir.resolve("weights.safetensors"), weights, Map.of());
            long[] labels = new long[batch];
            double[] t = new double[batch];
            for (int i = 0; i < batch; i++) {
                labels[i] = (i * 97L) % 1001;
                t[i] = (i * 131) % 1000;
            }
            Map<String, Tensor> inputs = new LinkedHashMap<>();
            inputs.put("x", rng.randn(batch, 4, 32, 32));
            inputs.put("t", Tensors.fromDoubles(t, batch).to(torch.ScalarType.Float));
            inputs.put("labels", Tensors.fromLongs(labels, batch));
            Safetensors.write(dir.resolve("inputs.safetensors"), inputs, Map.of());
            Files.writeString(dir.resolve("config.json"), Json.MAPPER.writeValueAsString(Json.toTree(DIT_S2)));
            ObjectNode o = JSON.createObjectNode();
            o.put("mode", "prepare").put("batch", batch).put("tokens", DIT_S2.grid() * DIT_S2.grid())
                    .put("parameters", DIT_S2.parameterShapes().count());
            return o;
        }
    }

    static ObjectNode run(Path dir, boolean train) throws Exception {
        DiTTransformer2DModel net = new DiTTransformer2DModel(DIT_S2);
        Parameters.load(net, Safetensors.read(dir.resolve("weights.safetensors")).tensors(), "weights");
        Map<String, Tensor> in = Safetensors.read(dir.resolve("inputs.safetensors")).tensors();
        Tensor x = in.get("x");
        Tensor t = in.get("t");
        Tensor labels = in.get("labels");
        List<Double> times = new ArrayList<>();
        ObjectNode o = JSON.createObjectNode();
        o.put("framework", "diffusion4j").put("parameters", Parameters.count(net));
        if (train) {
            net.train(true);
            for (int i = 0; i <= REPEATS; i++) {
                try (PointerScope scope = new PointerScope()) {
                    long start = System.nanoTime();
                    Tensor out = net.forward(x, t, labels);
                    out.square().mean().backward();
                    if (i > 0) {
                        times.add((System.nanoTime() - start) / 1e6);
                    }
                    net.zero_grad(true);
                }
            }
            o.put("step_ms", Bench.median(times));
        } else {
            net.eval();
            try (NoGradGuard g = new NoGradGuard()) {
                // The first (warm-up) pass gives the output compared with PyTorch's.
                Tensor out = net.forward(x, t, labels);
                for (int i = 0; i < REPEATS; i++) {
                    try (PointerScope scope = new PointerScope()) {
                        long start = System.nanoTime();
                        net.forward(x, t, labels);
                        times.add((System.nanoTime() - start) / 1e6);
                    }
                }
                Bench.writeFloats(out, dir.resolve("java-forward-fp32.f32"));
            }
            o.put("forward_ms", Bench.median(times));
        }
        o.put("peak_rss_mb", Bench.peakRssMb());
        return o;
    }
}
