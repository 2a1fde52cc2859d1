package org.diffusion4j.model.unet;

import static org.assertj.core.api.Assertions.assertThat;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.diffusion4j.model.Parameters;
import org.diffusion4j.tensor.Autocast;
import org.diffusion4j.tensor.Rng;
import org.diffusion4j.tensor.Tensors;
import org.junit.jupiter.api.Test;

class AttentionTest {
    private static double relativeError(Tensor got, Tensor want) {
        Tensor g = got.to(torch.ScalarType.Float);
        return g.sub(want).abs().max().item_double() / want.abs().max().item_double();
    }

    private static Tensor leaf(Tensor t) {
        return t.detach().requires_grad_(true);
    }

    @Test
    void bf16PathMatchesFloat32AttentionInValueAndGradient() {
        try (PointerScope scope = new PointerScope()) {
            Rng rng = Rng.of(3);
            // [B, heads, N, d] with N = 49 (a 7x7 level) and two heads.
            Tensor q = rng.randn(3, 2, 49, 16);
            Tensor k = rng.randn(3, 2, 49, 16);
            Tensor v = rng.randn(3, 2, 49, 16);
            Tensor upstream = rng.randn(3, 2, 49, 16);

            Tensor q32 = leaf(q);
            Tensor k32 = leaf(k);
            Tensor v32 = leaf(v);
            Tensor want = torch.scaled_dot_product_attention(q32, k32, v32);
            want.mul(upstream).sum().backward();

            Tensor q16 = leaf(q.to(torch.ScalarType.BFloat16));
            Tensor k16 = leaf(k.to(torch.ScalarType.BFloat16));
            Tensor v16 = leaf(v.to(torch.ScalarType.BFloat16));
            Tensor got = Attention.attend(q16, k16, v16);
            assertThat(got.scalar_type().value).isEqualTo(torch.ScalarType.BFloat16.value);
            got.to(torch.ScalarType.Float).mul(upstream).sum().backward();

            // bf16 keeps 8 bits of mantissa: a few parts in a thousand per rounding, a few roundings deep.
            assertThat(relativeError(got, want)).isLessThan(2e-2);
            assertThat(relativeError(q16.grad(), q32.grad())).isLessThan(3e-2);
            assertThat(relativeError(k16.grad(), k32.grad())).isLessThan(3e-2);
            assertThat(relativeError(v16.grad(), v32.grad())).isLessThan(3e-2);
        }
    }

    /** Inference runs the projections as 1x1 convolutions; training (and recorded gradients) as linear layers. */
    @Test
    void inferencePathMatchesTheTrainingPathForNchwAndChannelsLastInput() {
        try (PointerScope scope = new PointerScope()) {
            Attention block = new Attention(32, 2, 8, 1e-5);
            Rng rng = Rng.of(5);
            for (Tensor p : Parameters.named(block).values()) {
                p.detach().copy_(rng.randn(p.sizes().vec().get()).mul(Tensors.scalar(0.2)));
            }
            Tensor x = rng.randn(2, 32, 7, 6);
            Tensor want = block.forward(x).detach();
            block.eval();
            try (NoGradGuard guard = new NoGradGuard()) {
                for (Tensor input : new Tensor[] {x, x.contiguous(torch.MemoryFormat.ChannelsLast)}) {
                    Tensor got = block.forward(input);
                    assertThat(got.sizes().vec().get()).containsExactly(2, 32, 7, 6);
                    assertThat(relativeError(got.sub(x), want.sub(x))).isLessThan(1e-5);
                }
                try (Autocast cast = Autocast.bf16(true)) {
                    Tensor got = block.forward(x).to(torch.ScalarType.Float);
                    assertThat(relativeError(got.sub(x), want.sub(x))).as("bf16").isLessThan(3e-2);
                }
            }
        }
    }

    @Test
    void blockUnderAutocastMatchesFloat32() {
        try (PointerScope scope = new PointerScope(); NoGradGuard guard = new NoGradGuard()) {
            Attention block = new Attention(32, 2, 8, 1e-5);
            Rng rng = Rng.of(4);
            for (Tensor p : Parameters.named(block).values()) {
                p.copy_(rng.randn(p.sizes().vec().get()).mul(Tensors.scalar(0.2)));
            }
            Tensor x = rng.randn(2, 32, 7, 7);
            Tensor want = block.forward(x);
            Tensor got;
            try (Autocast cast = Autocast.bf16(true)) {
                got = block.forward(x);
            }
            // The residual keeps x itself in the output; compare what attention added.
            assertThat(relativeError(got.to(torch.ScalarType.Float).sub(x), want.sub(x))).isLessThan(3e-2);
        }
    }
}
