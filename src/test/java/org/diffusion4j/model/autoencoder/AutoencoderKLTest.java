package org.diffusion4j.model.autoencoder;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.assertj.core.data.Offset;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.diffusion4j.model.Parameters;
import org.diffusion4j.tensor.Rng;
import org.diffusion4j.tensor.Shapes;
import org.diffusion4j.tensor.Tensors;
import org.junit.jupiter.api.Test;

class AutoencoderKLTest {
    private static final AutoencoderConfig MNIST = AutoencoderConfig.of(28, 1, List.of(8, 16, 16), 4);

    @Test
    void encodesPaddedImagesToLatentsAndDecodesBackToTheImageSize() {
        try (PointerScope scope = new PointerScope(); NoGradGuard guard = new NoGradGuard()) {
            AutoencoderKL ae = MNIST.build(Rng.of(0));
            Tensor x = Rng.of(1).randn(new long[] {3, 1, 28, 28});
            AutoencoderKL.Posterior q = ae.encode(x);
            assertThat(Shapes.of(q.mean())).containsExactly(3, 4, 8, 8);
            assertThat(Shapes.of(q.logvar())).containsExactly(3, 4, 8, 8);
            assertThat(Shapes.of(ae.decode(q.mean()))).containsExactly(3, 1, 28, 28);
            assertThatThrownBy(() -> ae.encode(Rng.of(1).randn(new long[] {3, 1, 32, 32})))
                    .hasMessageContaining("images");
            assertThatThrownBy(() -> ae.decode(Rng.of(1).randn(new long[] {3, 4, 7, 7})))
                    .hasMessageContaining("latents");
        }
    }

    /** Without padding the decoder is fully convolutional, as diffusers': SD decodes latents of any h and w. */
    @Test
    void anUnpaddedAutoencoderDecodesLatentsOfAnySize() {
        try (PointerScope scope = new PointerScope(); NoGradGuard guard = new NoGradGuard()) {
            AutoencoderKL ae = new AutoencoderConfig(16, 3, List.of(8, 16), 4, 8, 1, 8).build(Rng.of(0));
            assertThat(Shapes.of(ae.decode(Rng.of(1).randn(new long[] {2, 4, 8, 8})))).containsExactly(2, 3, 16, 16);
            assertThat(Shapes.of(ae.decode(Rng.of(1).randn(new long[] {1, 4, 5, 12})))).containsExactly(1, 3, 10, 24);
            assertThatThrownBy(() -> ae.decode(Rng.of(1).randn(new long[] {1, 3, 8, 8})))
                    .hasMessageContaining("latents");
        }
    }

    @Test
    void followsDiffusersAutoencoderKLParameterNamesAndIsSeeded() {
        try (PointerScope scope = new PointerScope()) {
            AutoencoderKL a = MNIST.build(Rng.of(3));
            var names = Parameters.named(a).keySet();
            assertThat(names).contains("encoder.conv_in.weight", "encoder.down_blocks.0.resnets.0.conv1.weight",
                    "encoder.down_blocks.0.downsamplers.0.conv.weight", "encoder.mid_block.attentions.0.to_q.weight",
                    "encoder.mid_block.resnets.1.conv2.bias", "encoder.conv_out.weight", "quant_conv.weight",
                    "post_quant_conv.weight", "decoder.up_blocks.0.resnets.1.conv1.weight",
                    "decoder.up_blocks.1.upsamplers.0.conv.weight", "decoder.conv_norm_out.weight");
            // The VAE's resnets have no time embedding, and the last level neither down- nor upsamples.
            assertThat(names).noneMatch(n -> n.contains("time_emb_proj"));
            assertThat(names).doesNotContain("encoder.down_blocks.2.downsamplers.0.conv.weight",
                    "decoder.up_blocks.2.upsamplers.0.conv.weight");
            AutoencoderKL b = MNIST.build(Rng.of(3));
            AutoencoderKL c = MNIST.build(Rng.of(4));
            Tensor wa = Parameters.named(a).get("decoder.conv_out.weight");
            assertThat(Tensors.toFloats(Parameters.named(b).get("decoder.conv_out.weight"))).containsExactly(
                    Tensors.toFloats(wa));
            assertThat(Tensors.toFloats(Parameters.named(c).get("decoder.conv_out.weight"))).isNotEqualTo(
                    Tensors.toFloats(wa));
        }
    }

    @Test
    void posteriorKlAndDrawsFollowTheGaussianFormulas() {
        try (PointerScope scope = new PointerScope()) {
            Tensor zeros = Tensors.fromFloats(new float[8], 2, 1, 2, 2);
            AutoencoderKL.Posterior standard = new AutoencoderKL.Posterior(zeros, zeros);
            assertThat(Tensors.toFloats(standard.kl())).containsExactly(0f, 0f);
            // KL(N(1, e^-2) || N(0, 1)) = (1 + e^-2 - 1 + 2) / 2 per element, 4 elements per sample.
            Tensor ones = Tensors.fromFloats(new float[] {1, 1, 1, 1, 1, 1, 1, 1}, 2, 1, 2, 2);
            Tensor logvar = ones.mul(Tensors.scalar(-2));
            AutoencoderKL.Posterior q = new AutoencoderKL.Posterior(ones, logvar);
            double expected = 4 * (Math.exp(-2) + 2) / 2;
            assertThat(Tensors.toDoubles(q.kl())).containsExactly(new double[] {expected, expected},
                    Offset.offset(1e-5));
            assertThat(Tensors.toDoubles(q.std())).containsOnly(new double[] {Math.exp(-1)},
                    Offset.offset(1e-6));
            // Draws: mean + std * eps with eps from the given generator.
            float[] draw = Tensors.toFloats(q.sample(Rng.of(5)));
            float[] eps = Tensors.toFloats(Rng.of(5).randn(new long[] {2, 1, 2, 2}));
            for (int i = 0; i < draw.length; i++) {
                assertThat((double) draw[i]).isCloseTo(1 + Math.exp(-1) * eps[i], Offset.offset(1e-5));
            }
        }
    }
}
