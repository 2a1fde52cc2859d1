package org.diffusion4j.model.unet;

import static org.assertj.core.api.Assertions.assertThat;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
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
}
