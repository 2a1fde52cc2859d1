package org.diffusion4j.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Arrays;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.diffusion4j.model.Init;
import org.diffusion4j.model.Parameters;
import org.diffusion4j.model.unet.UNet2DConditionConfig;
import org.diffusion4j.model.unet.UNet2DConditionModel;
import org.diffusion4j.tensor.Autocast;
import org.diffusion4j.tensor.Rng;
import org.diffusion4j.tensor.Torch;

/**
 * One denoising step of Stable Diffusion 1.5's U-Net (its published config, random weights) as {@code generate} runs
 * it: a batch of two (classifier-free guidance), 77 text tokens of width 768, no gradients.
 * {@code SdUnet SIDE fp32|bf16 STEPS} prints one JSON line: the step times after one warm-up step, the analytic FLOPs
 * of a step ({@link #flops}) and the peak resident set.
 */
public final class SdUnet {
    private static final ObjectMapper JSON = new ObjectMapper();
    static final int BATCH = 2;
    static final int TOKENS = 77;

    private SdUnet() {}

    /** runwayml/stable-diffusion-v1-5's unet/config.json, the fields this implementation reads. */
    static UNet2DConditionConfig sd15() {
        return new UNet2DConditionConfig(64, 4, 4, List.of(320, 640, 1280, 1280), 2,
                List.of("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
                List.of("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
                List.of(8, 8, 8, 8), 768, false, List.of(false, false, false, false), false, 32, 1e-5, true, 0, 1);
    }

    public static void main(String[] args) throws Exception {
        Torch.init();
        int side = Integer.parseInt(args[0]);
        boolean bf16 = args[1].equals("bf16");
        int steps = Integer.parseInt(args[2]);
        UNet2DConditionConfig c = sd15();
        UNet2DConditionModel net = new UNet2DConditionModel(c);
        Init.pytorchDefault(net, Rng.of(0));
        net.eval();
        int latent = side / 8;
        double[] seconds = new double[steps];
        try (NoGradGuard guard = new NoGradGuard()) {
            for (int s = -1; s < steps; s++) {
                try (PointerScope scope = new PointerScope()) {
                    Rng rng = Rng.of(1 + s);
                    Tensor x = rng.randn(BATCH, 4, latent, latent);
                    Tensor text = rng.randn(BATCH, TOKENS, 768);
                    Tensor t = Rng.of(0).randint(0, 1000, BATCH);
                    long began = System.nanoTime();
                    try (Autocast cast = Autocast.bf16(bf16)) {
                        net.forward(x, t, text).sum().item_double();
                    }
                    if (s >= 0) {
                        seconds[s] = (System.nanoTime() - began) / 1e9;
                    }
                }
            }
        }
        ObjectNode o = JSON.createObjectNode();
        o.put("mode", "sd-unet");
        o.put("side", side);
        o.put("precision", bf16 ? "bf16" : "fp32");
        o.put("batch", BATCH);
        o.put("parameters", Parameters.count(net));
        ArrayNode times = o.putArray("step_s");
        Arrays.stream(seconds).forEach(times::add);
        double[] sorted = seconds.clone();
        Arrays.sort(sorted);
        o.put("median_step_s", sorted[sorted.length / 2]);
        o.put("flops_per_step", flops(c, latent, latent, BATCH));
        o.put("peak_rss_mb", Bench.peakRssMb());
        System.out.println(JSON.writeValueAsString(o));
    }

    /**
     * Multiply-adds x 2 of one forward pass: every convolution, linear layer and attention matmul (scores and the
     * weighted sum), from the config alone. Norms, activations, softmax and the time embedding's two small linears
     * are left out (well under 1% at SD's sizes).
     *
     * @param h latent height
     * @param w latent width
     */
    static double flops(UNet2DConditionConfig c, int h, int w, int batch) {
        List<Integer> ch = c.blockOutChannels();
        int n = ch.size();
        int per = c.layersPerBlock();
        double f = conv(c.inChannels(), ch.get(0), 3, h, w);
        java.util.Deque<Integer> skips = new java.util.ArrayDeque<>();
        skips.push(ch.get(0));
        int cur = ch.get(0);
        int hh = h;
        int ww = w;
        for (int i = 0; i < n; i++) {
            boolean attn = c.downBlockTypes().get(i).startsWith("CrossAttn");
            for (int j = 0; j < per; j++) {
                f += resnet(cur, ch.get(i), hh, ww);
                cur = ch.get(i);
                if (attn) {
                    f += transformer(cur, hh, ww, c.crossAttnDim());
                }
                skips.push(cur);
            }
            if (i < n - 1) {
                hh /= 2;
                ww /= 2;
                f += conv(cur, cur, 3, hh, ww);
                skips.push(cur);
            }
        }
        f += 2 * resnet(cur, cur, hh, ww) + transformer(cur, hh, ww, c.crossAttnDim());
        for (int i = 0; i < n; i++) {
            int out = ch.get(n - 1 - i);
            boolean attn = c.upBlockTypes().get(i).startsWith("CrossAttn");
            for (int j = 0; j <= per; j++) {
                f += resnet(cur + skips.pop(), out, hh, ww);
                cur = out;
                if (attn) {
                    f += transformer(cur, hh, ww, c.crossAttnDim());
                }
            }
            if (i < n - 1) {
                hh *= 2;
                ww *= 2;
                f += conv(cur, cur, 3, hh, ww);
            }
        }
        f += conv(ch.get(0), c.outChannels(), 3, h, w);
        return f * batch;
    }

    private static double conv(double in, double out, int k, int h, int w) {
        return 2.0 * in * out * k * k * h * w;
    }

    private static double resnet(int in, int out, int h, int w) {
        return conv(in, out, 3, h, w) + conv(out, out, 3, h, w) + (in != out ? conv(in, out, 1, h, w) : 0);
    }

    /** proj_in, self-attention, cross-attention over 77 tokens, the GEGLU feed-forward (4x, gated) and proj_out. */
    private static double transformer(int c, int h, int w, int context) {
        double tokens = (double) h * w;
        double lin = 2.0 * c * c * tokens;
        double self = 4 * lin + 2 * 2.0 * tokens * tokens * c;
        double cross = 2 * lin + 2 * 2.0 * TOKENS * context * c + 2 * 2.0 * tokens * TOKENS * c;
        double ff = 2.0 * c * 8 * c * tokens + 2.0 * 4 * c * c * tokens;
        return 2 * lin + self + cross + ff;
    }
}
