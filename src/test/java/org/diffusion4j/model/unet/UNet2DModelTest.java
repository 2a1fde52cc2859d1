package org.diffusion4j.model.unet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.diffusion4j.checkpoint.Safetensors;
import org.diffusion4j.model.Parameters;
import org.diffusion4j.tensor.Rng;
import org.diffusion4j.tensor.Shapes;
import org.diffusion4j.tensor.Tensors;
import org.diffusion4j.testing.Shared;
import org.junit.jupiter.api.Test;

class UNet2DModelTest {
    /** Loads diffusers' recorded weights into our U-Net and compares the float32 output (tolerance 1e-4 abs). */
    @Test
    void reproducesDiffusersOutputsFromTheirWeights() throws IOException {
        for (String name : new String[] {"unet_a_uncond", "unet_b_class"}) {
            Path dir = Shared.diffusers();
            JsonNode c = Shared.read(dir.resolve(name + ".json"));
            UNetConfig cfg = DiffusersConfig.read(Shared.read(dir.resolve(name).resolve("config.json")), name);
            try (PointerScope scope = new PointerScope(); NoGradGuard guard = new NoGradGuard()) {
                UNet2DModel net = new UNet2DModel(cfg, Rng.of(0));
                Map<String, Tensor> weights = Safetensors.read(dir.resolve(name).resolve("unet.safetensors")).tensors();
                // Same names and shapes as diffusers' state dict: load refuses any extra, missing or misshapen one.
                Parameters.load(net, weights, name);
                assertThat(Parameters.count(net)).isEqualTo(c.get("num_parameters").asLong());
                long[] shape = Shared.longs(c.get("input_shape"));
                Tensor x = Tensors.fromDoubles(Shared.doubles(c.get("input_sample")), shape).to(torch.ScalarType.Float);
                double[] ts = Shared.doubles(c.get("timesteps"));
                Tensor t = Tensors.fromDoubles(ts, ts.length).to(torch.ScalarType.Float);
                Tensor labels = c.get("class_labels").isNull() ? null
                        : Tensors.fromDoubles(Shared.doubles(c.get("class_labels")), ts.length).to(torch.ScalarType.Long);
                Tensor out = net.forward(x, t, labels);
                assertThat(Shapes.of(out)).containsExactly(Shared.longs(c.get("output_shape")));
                // Channels-last inside, but callers get the plain NCHW layout they passed in.
                assertThat(out.is_contiguous()).isTrue();
                double[] expected = Shared.doubles(c.get("output_float32"));
                double[] actual = Tensors.toDoubles(out);
                double worst = 0;
                for (int i = 0; i < expected.length; i++) {
                    worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
                }
                System.out.printf("%s: max abs error vs diffusers float32 output %.2e%n", name, worst);
                assertThat(worst).as(name).isLessThanOrEqualTo(1e-4);
            }
        }
    }

    /** Padding 0 pads the bottom-right before the stride-2 conv: same weights, same shapes, different values. */
    @Test
    void downsamplePaddingZeroChangesTheOutputNotTheShape() {
        UNetConfig one = UNetConfig.small(16, 1, null);
        UNetConfig zero = new UNetConfig(16, 1, 1, one.blockOutChannels(), one.layersPerBlock(), one.downBlockTypes(),
                one.upBlockTypes(), one.normNumGroups(), one.attentionHeadDim(), one.flipSinToCos(), one.freqShift(),
                null, one.normEps(), 0);
        try (PointerScope scope = new PointerScope(); NoGradGuard guard = new NoGradGuard()) {
            Tensor x = Rng.of(3).randn(2, 1, 16, 16);
            Tensor t = Tensors.fromDoubles(new double[] {10, 500}, 2).to(torch.ScalarType.Float);
            Tensor a = new UNet2DModel(one, Rng.of(1)).forward(x, t);
            Tensor b = new UNet2DModel(zero, Rng.of(1)).forward(x, t);
            assertThat(Shapes.of(b)).containsExactly(2, 1, 16, 16);
            assertThat(a.sub(b).abs().max().item_double()).isGreaterThan(1e-4);
        }
    }

    /** diffusers' parameter-count formula for this architecture, written out independently. */
    static long expectedParameters(UNetConfig c) {
        List<Integer> ch = c.blockOutChannels();
        int L = ch.size();
        long temb = c.timeEmbedDim();
        long n = conv(c.inChannels(), ch.get(0), 3) + (ch.get(0) * temb + temb) + (temb * temb + temb);
        if (c.numClassEmbeds() != null) {
            n += (long) c.numClassEmbeds() * temb;
        }
        int out = ch.get(0);
        for (int i = 0; i < L; i++) {
            int in = out;
            out = ch.get(i);
            boolean attn = c.downBlockTypes().get(i).startsWith("Attn");
            for (int j = 0; j < c.layersPerBlock(); j++) {
                n += resnet(j == 0 ? in : out, out, temb) + (attn ? attention(out) : 0);
            }
            n += i < L - 1 ? conv(out, out, 3) : 0;
        }
        int last = ch.get(L - 1);
        n += 2 * resnet(last, last, temb) + attention(last);
        out = last;
        for (int i = 0; i < L; i++) {
            int prev = out;
            out = ch.get(L - 1 - i);
            int in = ch.get(Math.max(L - 2 - i, 0));
            boolean attn = c.upBlockTypes().get(i).startsWith("Attn");
            for (int j = 0; j <= c.layersPerBlock(); j++) {
                int skip = j == c.layersPerBlock() ? in : out;
                n += resnet((j == 0 ? prev : out) + skip, out, temb) + (attn ? attention(out) : 0);
            }
            n += i < L - 1 ? conv(out, out, 3) : 0;
        }
        return n + 2L * ch.get(0) + conv(ch.get(0), c.outChannels(), 3);
    }

    private static long conv(long in, long out, long k) {
        return in * out * k * k + out;
    }

    private static long resnet(long in, long out, long temb) {
        return 2 * in + conv(in, out, 3) + temb * out + out + 2 * out + conv(out, out, 3) + (in != out ? conv(in, out, 1) : 0);
    }

    private static long attention(long c) {
        return 2 * c + 4 * (c * c + c);
    }

    @Test
    void shapesAndParameterCountsFollowTheFormula() {
        UNetConfig[] configs = {
            UNetConfig.small(32, 1, null),
            UNetConfig.small(32, 3, 10),
            new UNetConfig(16, 2, 4, List.of(8, 16), 2, List.of("AttnDownBlock2D", "DownBlock2D"),
                    List.of("UpBlock2D", "AttnUpBlock2D"), 4, null, false, 1, null, 1e-6, 0),
        };
        for (UNetConfig cfg : configs) {
            try (PointerScope scope = new PointerScope(); NoGradGuard guard = new NoGradGuard()) {
                UNet2DModel net = new UNet2DModel(cfg, Rng.of(1));
                assertThat(Parameters.count(net)).as(cfg.toString()).isEqualTo(expectedParameters(cfg));
                Tensor x = Rng.of(2).randn(2, cfg.inChannels(), cfg.sampleSize(), cfg.sampleSize());
                Tensor t = Tensors.fromFloats(new float[] {3, 700}, 2);
                Tensor labels = cfg.numClassEmbeds() == null ? null
                        : Tensors.fromFloats(new float[] {1, 9}, 2).to(torch.ScalarType.Long);
                assertThat(Shapes.of(net.forward(x, t, labels)))
                        .containsExactly(2, cfg.outChannels(), cfg.sampleSize(), cfg.sampleSize());
            }
        }
        // The small MNIST model is in the 0.5-2 M parameter range.
        assertThat(expectedParameters(UNetConfig.small(32, 1, null))).isBetween(500_000L, 2_000_000L);
    }

    @Test
    void parameterNamesAreDiffusers() {
        try (PointerScope scope = new PointerScope()) {
            UNet2DModel net = new UNet2DModel(UNetConfig.small(32, 1, 10), Rng.of(1));
            assertThat(Parameters.named(net).keySet()).contains("conv_in.weight", "time_embedding.linear_1.weight",
                    "class_embedding.weight", "down_blocks.0.resnets.0.norm1.weight",
                    "down_blocks.1.attentions.0.to_out.0.bias", "down_blocks.0.downsamplers.0.conv.weight",
                    "mid_block.attentions.0.group_norm.weight", "mid_block.resnets.1.conv2.bias",
                    "up_blocks.0.resnets.0.conv_shortcut.weight", "up_blocks.1.upsamplers.0.conv.weight",
                    "conv_norm_out.weight", "conv_out.bias");
        }
    }

    @Test
    void sameSeedSameWeightsAndClassEmbeddingIsStandardNormal() {
        try (PointerScope scope = new PointerScope()) {
            UNetConfig cfg = UNetConfig.small(16, 1, 1000);
            Map<String, Tensor> a = Parameters.named(new UNet2DModel(cfg, Rng.of(4)));
            Map<String, Tensor> b = Parameters.named(new UNet2DModel(cfg, Rng.of(4)));
            for (String k : a.keySet()) {
                assertThat(torch.equal(a.get(k), b.get(k))).as(k).isTrue();
            }
            Tensor emb = a.get("class_embedding.weight");
            assertThat(emb.std().item_double()).isBetween(0.95, 1.05);
        }
    }

    @Test
    void survivesGarbageCollectionOfItsJavaWrappers() throws InterruptedException {
        UNet2DModel net = new UNet2DModel(UNetConfig.small(16, 1, null), Rng.of(1));
        for (int i = 0; i < 5; i++) {
            System.gc();
            Thread.sleep(20);
        }
        // train()/eval() recurse through every child via Java callbacks: a collected container would throw here.
        net.train(true);
        net.eval();
        assertThat(net.is_training()).isFalse();
        try (PointerScope scope = new PointerScope(); NoGradGuard guard = new NoGradGuard()) {
            Tensor out = net.forward(Rng.of(2).randn(1, 1, 16, 16), Tensors.fromFloats(new float[] {5}, 1));
            assertThat(Shapes.of(out)).containsExactly(1, 1, 16, 16);
        }
    }

    @Test
    void rejectsWrongInputs() {
        try (PointerScope scope = new PointerScope()) {
            UNet2DModel cond = new UNet2DModel(UNetConfig.small(16, 1, 10), Rng.of(1));
            Tensor t = Tensors.fromFloats(new float[] {1}, 1);
            assertThatThrownBy(() -> cond.forward(Rng.of(1).randn(1, 1, 16, 16), t))
                    .hasMessageContaining("class labels are required");
            assertThatThrownBy(() -> cond.forward(Rng.of(1).randn(1, 3, 16, 16), t, null)).hasMessageContaining("x:");
            assertThatThrownBy(() -> cond.forward(Rng.of(1).randn(1, 1, 18, 18), t, null))
                    .hasMessageContaining("divisible by 4");
        }
    }
}
