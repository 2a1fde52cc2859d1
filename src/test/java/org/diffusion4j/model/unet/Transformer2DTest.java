package org.diffusion4j.model.unet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.global.torch;
import org.diffusion4j.model.Init;
import org.diffusion4j.model.Parameters;
import org.diffusion4j.tensor.Autocast;
import org.diffusion4j.tensor.Rng;
import org.diffusion4j.tensor.Shapes;
import org.diffusion4j.tensor.Tensors;
import org.junit.jupiter.api.Test;

class Transformer2DTest {
    @Test
    void aZeroProjectionLeavesTheInputAndTheTextIsRequired() {
        try (PointerScope scope = new PointerScope()) {
            for (boolean linear : new boolean[] {false, true}) {
                // Freshly built, every projection is zero: the block adds nothing to its input.
                Transformer2D t = new Transformer2D(16, 2, 8, 12, linear, false);
                Tensor x = Rng.of(1).randn(2, 16, 4, 4);
                Tensor y = t.forward(x, Rng.of(2).randn(2, 5, 12));
                assertThat(Shapes.of(y)).containsExactly(2, 16, 4, 4);
                assertThat(Tensors.toFloats(y.contiguous())).containsExactly(Tensors.toFloats(x));
                assertThatThrownBy(() -> t.forward(x, null)).hasMessageContaining("needs the text embeddings");
            }
        }
        assertThatThrownBy(() -> new Transformer2D(16, 3, 8, 12, false, false))
                .hasMessageContaining("16 channels do not split into 3 heads");
    }

    /**
     * Attention runs as libtorch's float32 flash attention whatever the precision (blocks of queries and keys, never
     * the whole score matrix): it equals softmax(q k^T / sqrt(d)) v computed in float64 from the same weights, for
     * self- and cross-attention, and under bf16 autocast answers in bf16 to bf16's rounding.
     */
    @Test
    void attentionEqualsTheFloat64FormulaInEveryPrecision() {
        try (PointerScope scope = new PointerScope(); NoGradGuard guard = new NoGradGuard()) {
            Tensor x = Rng.of(5).randn(2, 37, 16);
            Tensor text = Rng.of(6).randn(2, 7, 12);
            for (Tensor context : new Tensor[] {null, text}) {
                Transformer2D.CrossAttention a = new Transformer2D.CrossAttention(16, context == null ? 16 : 12, 2);
                Init.pytorchDefault(a, Rng.of(4));
                Tensor want = reference(a, x, context == null ? x : context, 2);
                double scale = want.abs().max().item_double();
                Tensor fp32 = a.forward(x, context);
                assertThat(fp32.to(torch.ScalarType.Double).sub(want).abs().max().item_double() / scale)
                        .isLessThan(1e-5);
                Tensor bf16;
                try (Autocast cast = Autocast.bf16(true)) {
                    bf16 = a.forward(x, context);
                }
                assertThat(bf16.scalar_type().value).isEqualTo(torch.ScalarType.BFloat16.value);
                assertThat(bf16.to(torch.ScalarType.Double).sub(want).abs().max().item_double() / scale)
                        .isLessThan(5e-2);
            }
        }
    }

    private static Tensor reference(Transformer2D.CrossAttention a, Tensor x, Tensor kv, int heads) {
        Map<String, Tensor> p = Parameters.named(a);
        Tensor xd = x.to(torch.ScalarType.Double);
        Tensor kvd = kv.to(torch.ScalarType.Double);
        long b = x.size(0);
        long d = x.size(2) / heads;
        Tensor q = torch.linear(xd, p.get("to_q.weight").to(torch.ScalarType.Double)).view(b, -1, heads, d)
                .transpose(1, 2);
        Tensor k = torch.linear(kvd, p.get("to_k.weight").to(torch.ScalarType.Double)).view(b, -1, heads, d)
                .transpose(1, 2);
        Tensor v = torch.linear(kvd, p.get("to_v.weight").to(torch.ScalarType.Double)).view(b, -1, heads, d)
                .transpose(1, 2);
        Tensor scores = torch.matmul(q, k.transpose(2, 3)).div(Tensors.scalar(Math.sqrt(d)));
        Tensor att = torch.matmul(torch.softmax(scores, -1, new ScalarTypeOptional()), v).transpose(1, 2)
                .reshape(b, -1, x.size(2));
        return torch.linear(att, p.get("to_out.0.weight").to(torch.ScalarType.Double),
                new TensorOptional(p.get("to_out.0.bias").to(torch.ScalarType.Double)));
    }
}
