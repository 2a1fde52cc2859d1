package org.diffusion4j.model.unet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.global.torch;
import org.diffusion4j.model.Parameters;
import org.diffusion4j.tensor.Autocast;
import org.diffusion4j.tensor.Rng;
import org.diffusion4j.tensor.Tensors;
import org.junit.jupiter.api.Test;

class LayersTest {
    private static Tensor channelsLast(Tensor t) {
        return t.contiguous(torch.MemoryFormat.ChannelsLast);
    }

    private static double maxAbsDiff(Tensor a, Tensor b) {
        return a.to(torch.ScalarType.Float).sub(b.to(torch.ScalarType.Float)).abs().max().item_double();
    }

    @Test
    void groupNormTakesTheNchwRouteOnlyForChannelsLastGroupsThatDoNotFillWholeVectors() {
        try (PointerScope scope = new PointerScope()) {
            Layers.GroupNorm narrow = new Layers.GroupNorm(8, 16, 1e-5);
            Layers.GroupNorm wide = new Layers.GroupNorm(8, 64, 1e-5);
            Layers.GroupNorm wider = new Layers.GroupNorm(8, 128, 1e-5);
            Tensor x16 = torch.randn(2, 16, 5, 5);
            Tensor x64 = torch.randn(2, 64, 5, 5);
            Tensor x128 = torch.randn(2, 128, 5, 5);
            // 2 float32 channels per group: 8 bytes.
            assertThat(narrow.slowChannelsLast(channelsLast(x16))).isTrue();
            assertThat(narrow.slowChannelsLast(x16)).isFalse();
            // 8 channels: 32 bytes in float32, 16 in bf16.
            assertThat(wide.slowChannelsLast(channelsLast(x64))).isFalse();
            assertThat(wide.slowChannelsLast(channelsLast(x64.to(torch.ScalarType.BFloat16)))).isTrue();
            // 16 bf16 channels: 32 bytes.
            assertThat(wider.slowChannelsLast(channelsLast(x128.to(torch.ScalarType.BFloat16)))).isFalse();
            // Not 4-D: libtorch's kernel handles it as it is.
            assertThat(narrow.slowChannelsLast(torch.randn(2, 16, 25))).isFalse();
        }
    }

    @Test
    void groupNormOnChannelsLastInputMatchesNchwInValueGradientAndKeepsItsLayout() {
        for (int channels : new int[] {16, 64}) {
            for (torch.ScalarType dtype : new torch.ScalarType[] {torch.ScalarType.Float, torch.ScalarType.BFloat16}) {
                try (PointerScope scope = new PointerScope()) {
                    Layers.GroupNorm norm = new Layers.GroupNorm(8, channels, 1e-5);
                    Rng rng = Rng.of(channels);
                    Tensor x = rng.randn(3, channels, 6, 6).mul(Tensors.scalar(3)).to(dtype);
                    Tensor upstream = rng.randn(3, channels, 6, 6);

                    Tensor nchw = x.detach().requires_grad_(true);
                    Tensor want = norm.forward(nchw);
                    want.to(torch.ScalarType.Float).mul(upstream).sum().backward();
                    Tensor cl = channelsLast(x).detach().requires_grad_(true);
                    Tensor got = norm.forward(cl);
                    got.to(torch.ScalarType.Float).mul(upstream).sum().backward();

                    String what = channels + " channels, " + dtype;
                    assertThat(got.is_contiguous(torch.MemoryFormat.ChannelsLast)).as(what).isTrue();
                    assertThat(got.scalar_type().value).as(what).isEqualTo(dtype.value);
                    double tolerance = dtype == torch.ScalarType.Float ? 1e-5 : 3e-2;
                    assertThat(maxAbsDiff(got, want)).as(what).isLessThan(tolerance);
                    assertThat(maxAbsDiff(cl.grad(), nchw.grad())).as(what).isLessThan(tolerance);
                    // Normalised per group: mean 0 and variance 1 with the default affine parameters.
                    Tensor groups = got.to(torch.ScalarType.Float).reshape(3, 8, -1);
                    assertThat(groups.mean(new long[] {2}, false, new ScalarTypeOptional()).abs()
                            .max().item_double()).as(what).isLessThan(tolerance * 3);
                }
            }
        }
    }

    /** max |got - want| / max |want|, with NaN propagated. */
    private static double relativeError(Tensor got, Tensor want) {
        double scale = want.abs().max().item_double();
        return got.to(torch.ScalarType.Double).sub(want).abs().max().item_double() / scale;
    }

    /**
     * The convolution's output and both gradients against libtorch's float64 convolution (which never runs oneDNN),
     * for channel counts with and without a block tail, in both layouts and both precisions. Repeated calls reuse
     * freed buffers, which is how unwritten memory showed before the layer padded its channels: 1 and 4 channels
     * and 48 NCHW channels at stride 2 were off by 10-100% or NaN on the Zen 5 machines.
     */
    @Test
    void convolutionMatchesFloat64InValueAndGradientsForEveryChannelCountLayoutAndPrecision() {
        int[][] channels = {{1, 16}, {16, 1}, {3, 4}, {4, 8}, {16, 16}, {24, 40}, {48, 16}, {32, 64}};
        for (int[] io : channels) {
            for (int kernel : new int[] {1, 3}) {
                for (int stride : new int[] {1, 2}) {
                    for (boolean channelsLast : new boolean[] {false, true}) {
                        for (torch.ScalarType dtype : new torch.ScalarType[] {torch.ScalarType.Float,
                                torch.ScalarType.BFloat16}) {
                            checkConvolution(io[0], io[1], kernel, stride, channelsLast, dtype);
                        }
                    }
                }
            }
        }
    }

    /**
     * In eval mode without gradients, whole-block convolutions run on a packed copy of the weight: the same values as
     * float64 in both precisions, and a changed weight (a load, an EMA swap) is seen at the next call.
     */
    @Test
    void inferenceOnPackedOrUnpackedWeightsMatchesFloat64AndFollowsWeightChanges() {
        try (PointerScope scope = new PointerScope(); NoGradGuard guard = new NoGradGuard()) {
            for (int[] io : new int[][] {{16, 16}, {32, 64}, {48, 16}}) {
                for (int stride : new int[] {1, 2}) {
                  for (int size : new int[] {4, 24}) {
                    Layers.Conv2d conv = new Layers.Conv2d(io[0], io[1], 3, stride, 1);
                    conv.eval();
                    Tensor weight = Parameters.named(conv).get("weight");
                    Tensor bias = Parameters.named(conv).get("bias");
                    Rng rng = Rng.of(io[0] + 7L * stride);
                    Tensor x = rng.randn(2, io[0], size, size);
                    // 2 x 4 x 4 pixels weigh less than a 3x3 weight (packed); 2 x 24 x 24 more (channels-last).
                    assertThat(conv.packs(x)).as("packs at %d x %d", size, size).isEqualTo(size == 4);
                    for (int change = 0; change < 2; change++) {
                        weight.copy_(rng.randn(io[1], io[0], 3, 3).div(Tensors.scalar(Math.sqrt(9.0 * io[0]))));
                        bias.copy_(rng.randn(io[1]));
                        Tensor want = torch.conv2d(x.to(torch.ScalarType.Double), weight.to(torch.ScalarType.Double),
                                new TensorOptional(bias.to(torch.ScalarType.Double)), new long[] {stride, stride},
                                new long[] {1, 1}, new long[] {1, 1}, 1);
                        String what = io[0] + "->" + io[1] + ", stride " + stride + ", weights " + change;
                        assertThat(relativeError(conv.forward(x), want)).as(what).isLessThan(1e-5);
                        Tensor y16;
                        try (Autocast cast = Autocast.bf16(true)) {
                            y16 = conv.forward(x);
                        }
                        assertThat(y16.scalar_type().value).isEqualTo(torch.ScalarType.BFloat16.value);
                        assertThat(relativeError(y16, want)).as(what + " bf16").isLessThan(3e-2);
                    }
                  }
                }
            }
        }
    }

    @Test
    void convolutionDoesNotPackWhileTrainingOrRecordingGradients() {
        try (PointerScope scope = new PointerScope()) {
            Layers.Conv2d conv = new Layers.Conv2d(16, 16, 3, 1, 1);
            Tensor x = torch.zeros(1, 16, 2, 2);
            conv.eval();
            assertThat(conv.packs(x)).as("eval, recording gradients").isFalse();
            try (NoGradGuard guard = new NoGradGuard()) {
                assertThat(conv.packs(x)).as("eval, no gradient").isTrue();
                conv.train(true);
                assertThat(conv.packs(x)).as("training, no gradient").isFalse();
                conv.eval();
                Layers.Conv2d odd = new Layers.Conv2d(3, 16, 3, 1, 1);
                odd.eval();
                assertThat(odd.packs(torch.zeros(1, 3, 2, 2))).as("3 input channels").isFalse();
            }
        }
    }

    /** A linear layer applied per pixel as a 1x1 convolution equals the layer on the pixels' channel vectors. */
    @Test
    void pointwiseProjectionMatchesLinearOnEveryPixelInBothPrecisions() {
        try (PointerScope scope = new PointerScope(); NoGradGuard guard = new NoGradGuard()) {
            Layers.Linear linear = new Layers.Linear(32, 48);
            linear.eval();
            Rng rng = Rng.of(11);
            for (Tensor p : Parameters.named(linear).values()) {
                p.copy_(rng.randn(p.sizes().vec().get()).mul(Tensors.scalar(0.2)));
            }
            Tensor x = rng.randn(2, 32, 5, 6);
            Tensor weight = Parameters.named(linear).get("weight").to(torch.ScalarType.Double);
            Tensor bias = Parameters.named(linear).get("bias").to(torch.ScalarType.Double);
            Tensor want = torch.linear(x.to(torch.ScalarType.Double).permute(0, 2, 3, 1), weight,
                    new TensorOptional(bias)).permute(0, 3, 1, 2);
            assertThat(linear.pointwiseReady(x)).isTrue();
            Tensor got = linear.pointwise(x);
            assertThat(got.sizes().vec().get()).containsExactly(2, 48, 5, 6);
            assertThat(relativeError(got, want)).isLessThan(1e-5);
            try (Autocast cast = Autocast.bf16(true)) {
                assertThat(relativeError(linear.pointwise(x), want)).as("bf16").isLessThan(3e-2);
            }
        }
    }

    @Test
    void pointwiseProjectionRefusesTrainingModeAndPartialChannelBlocks() {
        try (PointerScope scope = new PointerScope(); NoGradGuard guard = new NoGradGuard()) {
            Layers.Linear linear = new Layers.Linear(32, 32);
            Tensor x = torch.zeros(1, 32, 2, 2);
            assertThat(linear.pointwiseReady(x)).as("training mode").isFalse();
            assertThatThrownBy(() -> linear.pointwise(x)).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("eval mode");
            Layers.Linear odd = new Layers.Linear(24, 32);
            odd.eval();
            assertThat(odd.pointwiseReady(torch.zeros(1, 24, 2, 2))).as("24 input channels").isFalse();
        }
    }

    private static void checkConvolution(int in, int out, int kernel, int stride, boolean channelsLast,
                                         torch.ScalarType dtype) {
        String what = in + "->" + out + " channels, kernel " + kernel + ", stride " + stride
                + (channelsLast ? ", channels-last " : ", NCHW ") + dtype;
        for (int repeat = 0; repeat < 3; repeat++) {
            try (PointerScope scope = new PointerScope()) {
                Rng rng = Rng.of(31L * in + out + repeat);
                Layers.Conv2d conv = new Layers.Conv2d(in, out, kernel, stride, kernel / 2);
                Tensor weight = Parameters.named(conv).get("weight");
                Tensor bias = Parameters.named(conv).get("bias");
                try (NoGradGuard guard = new NoGradGuard()) {
                    weight.copy_(rng.randn(out, in, kernel, kernel).div(Tensors.scalar(Math.sqrt(in * kernel * kernel))));
                    bias.copy_(rng.randn(out));
                }
                Tensor x0 = rng.randn(4, in, 14, 14);
                Tensor upstream = rng.randn(4, out, (14 - 1) / stride + 1, (14 - 1) / stride + 1);
                Tensor x = (channelsLast ? Layers.channelsLast(x0) : x0).detach().requires_grad_(true);
                Tensor y;
                try (Autocast cast = Autocast.bf16(
                        dtype == torch.ScalarType.BFloat16)) {
                    y = conv.forward(x);
                }
                y.to(torch.ScalarType.Float).mul(upstream).sum().backward();

                Tensor xd = x0.to(torch.ScalarType.Double).requires_grad_(true);
                Tensor wd = weight.detach().to(torch.ScalarType.Double).requires_grad_(true);
                Tensor yd = torch.conv2d(xd, wd, new TensorOptional(bias.detach().to(torch.ScalarType.Double)),
                        new long[] {stride, stride}, new long[] {kernel / 2, kernel / 2}, new long[] {1, 1}, 1);
                yd.mul(upstream.to(torch.ScalarType.Double)).sum().backward();

                // bf16 rounds inputs and weights to 8 bits of mantissa; float32 should agree to rounding.
                double tolerance = dtype == torch.ScalarType.Float ? 1e-5 : 3e-2;
                assertThat(y.size(1)).as(what).isEqualTo(out);
                assertThat(relativeError(y, yd)).as(what + ": output").isLessThan(tolerance);
                assertThat(relativeError(x.grad(), xd.grad())).as(what + ": input gradient").isLessThan(tolerance);
                assertThat(relativeError(weight.grad(), wd.grad())).as(what + ": weight gradient")
                        .isLessThan(tolerance);
                assertThat(y.is_contiguous(torch.MemoryFormat.ChannelsLast)).as(what).isTrue();
            }
        }
    }

    @Test
    void channelsLastGivesChannelStrideOneEvenForOneChannel() {
        try (PointerScope scope = new PointerScope()) {
            Tensor one = torch.randn(2, 1, 3, 5);
            // libtorch calls this already channels-last contiguous and leaves the NCHW strides.
            assertThat(one.contiguous(torch.MemoryFormat.ChannelsLast).strides().vec().get())
                    .containsExactly(15, 15, 5, 1);
            Tensor cl = Layers.channelsLast(one);
            assertThat(cl.strides().vec().get()).containsExactly(15, 1, 5, 1);
            assertThat(Tensors.toFloats(cl)).containsExactly(Tensors.toFloats(one));
            Tensor four = Layers.channelsLast(torch.randn(2, 4, 3, 5));
            assertThat(four.strides().vec().get()).containsExactly(60, 1, 20, 4);
            assertThat(Layers.channelsLast(four)).isSameAs(four);
        }
    }
}
