package org.diffusion4j.model.unet;

import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.global.torch;
import org.diffusion4j.tensor.Autocast;
import org.diffusion4j.tensor.Scopes;
import org.diffusion4j.tensor.Tensors;

/**
 * diffusers' Transformer2DModel on a feature map, as UNet2DConditionModel's cross-attention blocks build it:
 * GroupNorm (eps 1e-6), a 1x1 conv or linear projection in, BasicTransformerBlocks over the H*W tokens (self-attention,
 * cross-attention to the text, GEGLU feed-forward, each after a LayerNorm and added back), the projection out, and the
 * input added back.
 */
final class Transformer2D extends Mixer {
    private final Layers.GroupNorm norm;
    private final Layers.Node projIn;
    private final Layers.Node projOut;
    private final boolean linear;
    private final List<Block> blocks = new ArrayList<>();

    /**
     * @param channels  the feature map's channels (= the transformer's width)
     * @param heads     attention heads; each gets channels / heads dimensions
     * @param crossDim  the text embeddings' width
     * @param linear    diffusers' use_linear_projection: linear projections on tokens instead of 1x1 convs
     * @param onlyCross the first attention also attends to the text (diffusers' only_cross_attention)
     */
    Transformer2D(int channels, int heads, int groups, int crossDim, boolean linear, boolean onlyCross) {
        if (channels % heads != 0) {
            throw new IllegalArgumentException(channels + " channels do not split into " + heads + " heads");
        }
        this.linear = linear;
        norm = register_module("norm", new Layers.GroupNorm(groups, channels, 1e-6));
        projIn = register_module("proj_in", linear ? new Layers.Linear(channels, channels)
                : new Layers.Conv2d(channels, channels, 1, 1, 0));
        Module b = container(this, "transformer_blocks");
        blocks.add(b.register_module("0", new Block(channels, heads, crossDim, onlyCross)));
        projOut = register_module("proj_out", linear ? new Layers.Linear(channels, channels)
                : new Layers.Conv2d(channels, channels, 1, 1, 0));
    }

    @Override
    Tensor forward(Tensor x, Tensor context) {
        if (context == null) {
            throw new IllegalArgumentException("a cross-attention block needs the text embeddings");
        }
        return Scopes.keep(() -> {
            long b = x.size(0);
            long c = x.size(1);
            long h = x.size(2);
            long w = x.size(3);
            Tensor t = norm.forward(x);
            if (!linear) {
                t = ((Layers.Conv2d) projIn).forward(t);
            }
            t = t.permute(0, 2, 3, 1).reshape(b, h * w, c);
            if (linear) {
                t = ((Layers.Linear) projIn).forward(t);
            }
            for (Block block : blocks) {
                t = block.forward(t, context);
            }
            if (linear) {
                t = ((Layers.Linear) projOut).forward(t);
            }
            t = t.reshape(b, h, w, c).permute(0, 3, 1, 2).contiguous();
            if (!linear) {
                t = ((Layers.Conv2d) projOut).forward(t);
            }
            return t.add(x);
        });
    }

    /** BasicTransformerBlock: x + attn1(norm1(x)), + attn2(norm2(x), text), + ff(norm3(x)). */
    static final class Block extends Layers.Node {
        private final LayerNorm norm1;
        private final CrossAttention attn1;
        private final LayerNorm norm2;
        private final CrossAttention attn2;
        private final LayerNorm norm3;
        private final Layers.Linear geglu;
        private final Layers.Linear ffOut;
        private final boolean onlyCross;

        Block(int dim, int heads, int crossDim, boolean onlyCross) {
            this.onlyCross = onlyCross;
            norm1 = register_module("norm1", new LayerNorm(dim));
            attn1 = register_module("attn1", new CrossAttention(dim, onlyCross ? crossDim : dim, heads));
            norm2 = register_module("norm2", new LayerNorm(dim));
            attn2 = register_module("attn2", new CrossAttention(dim, crossDim, heads));
            norm3 = register_module("norm3", new LayerNorm(dim));
            Module net = container(container(this, "ff"), "net");
            geglu = container(net, "0").register_module("proj", new Layers.Linear(dim, 8 * dim));
            ffOut = net.register_module("2", new Layers.Linear(4 * dim, dim));
        }

        Tensor forward(Tensor x, Tensor context) {
            x = x.add(attn1.forward(norm1.forward(x), onlyCross ? context : null));
            x = x.add(attn2.forward(norm2.forward(x), context));
            // GEGLU: the first half gated by the gelu of the second.
            Tensor both = geglu.forward(norm3.forward(x));
            long inner = both.size(-1) / 2;
            Tensor gated = both.narrow(-1, 0, inner).mul(torch.gelu(both.narrow(-1, inner, inner)));
            return x.add(ffOut.forward(gated));
        }
    }

    /** nn.LayerNorm(dim) with eps 1e-5, as BasicTransformerBlock builds it. */
    static final class LayerNorm extends Layers.Node {
        private final Tensor weight;
        private final Tensor bias;

        LayerNorm(int dim) {
            weight = Layers.param(this, "weight", torch.ones(dim));
            bias = Layers.param(this, "bias", torch.zeros(dim));
        }

        Tensor forward(Tensor x) {
            return torch.layer_norm(x, new long[] {x.size(-1)}, new TensorOptional(weight), new TensorOptional(bias),
                    1e-5, false);
        }
    }

    /**
     * diffusers' Attention as transformer blocks use it: q from the tokens, k and v from the context (the tokens
     * themselves for self-attention), no bias on q, k, v, softmax(q k^T / sqrt(d)) v, and to_out.0.
     */
    static final class CrossAttention extends Layers.Node {
        private final Tensor toQ;
        private final Tensor toK;
        private final Tensor toV;
        private final Layers.Linear toOut;
        private final int heads;

        /** diffusers' upcast_attention (float32 scores) needs no flag: attention runs in float32 in every precision. */
        CrossAttention(int dim, int contextDim, int heads) {
            this.heads = heads;
            toQ = Layers.param(container(this, "to_q"), "weight", torch.zeros(dim, dim));
            toK = Layers.param(container(this, "to_k"), "weight", torch.zeros(dim, contextDim));
            toV = Layers.param(container(this, "to_v"), "weight", torch.zeros(dim, contextDim));
            toOut = container(this, "to_out").register_module("0", new Layers.Linear(dim, dim));
        }

        /**
         * @param x       [B, N, dim]
         * @param context [B, M, contextDim], or null for self-attention
         */
        Tensor forward(Tensor x, Tensor context) {
            Tensor kv = context == null ? x : context;
            long b = x.size(0);
            long n = x.size(1);
            long dim = x.size(2);
            long d = dim / heads;
            Tensor q = torch.linear(x, toQ).view(b, n, heads, d).transpose(1, 2);
            Tensor k = torch.linear(kv, toK).view(b, kv.size(1), heads, d).transpose(1, 2);
            Tensor v = torch.linear(kv, toV).view(b, kv.size(1), heads, d).transpose(1, 2);
            torch.ScalarType type = v.scalar_type();
            // Always libtorch's float32 flash attention, which works through blocks of queries and keys (no N x N
            // scores in memory) and so is upcast attention too. At SD's 4096 tokens it took 0.3 s where matmul and
            // softmax took 7 s in float32 and 2.7 s in bf16, whose own flash kernel falls back to scalar code (6 s).
            Tensor att;
            // Autocast would cast the inputs back to bf16.
            try (Autocast off = Autocast.off()) {
                att = torch.scaled_dot_product_attention(q.to(torch.ScalarType.Float), k.to(torch.ScalarType.Float),
                        v.to(torch.ScalarType.Float)).to(type);
            }
            return toOut.forward(att.transpose(1, 2).reshape(b, n, dim));
        }
    }
}
