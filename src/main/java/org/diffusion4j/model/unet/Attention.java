package org.diffusion4j.model.unet;

import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.diffusion4j.model.ParameterShapes;
import org.diffusion4j.tensor.Scopes;
import org.diffusion4j.tensor.Tensors;

/**
 * diffusers' spatial self-attention (Attention with group_norm, residual connection, as built for UNet2DModel's
 * attention blocks): every pixel attends to every pixel through scaled_dot_product_attention.
 */
public final class Attention extends Mixer {
    private final Layers.GroupNorm groupNorm;
    private final Layers.Linear toQ;
    private final Layers.Linear toK;
    private final Layers.Linear toV;
    private final Layers.Linear toOut;
    private final int heads;

    public Attention(int channels, int heads, int groups, double eps) {
        if (channels % heads != 0) {
            throw new IllegalArgumentException(channels + " channels do not split into " + heads + " heads");
        }
        this.heads = heads;
        groupNorm = register_module("group_norm", new Layers.GroupNorm(groups, channels, eps));
        toQ = register_module("to_q", new Layers.Linear(channels, channels));
        toK = register_module("to_k", new Layers.Linear(channels, channels));
        toV = register_module("to_v", new Layers.Linear(channels, channels));
        Module out = container(this, "to_out");
        toOut = out.register_module("0", new Layers.Linear(channels, channels));
    }

    /** Adds the parameters this module's constructor creates under {@code name}. */
    public static void shapes(ParameterShapes p, String name, int channels) {
        p.groupNorm(name + ".group_norm", channels).linear(name + ".to_q", channels, channels)
                .linear(name + ".to_k", channels, channels).linear(name + ".to_v", channels, channels)
                .linear(name + ".to_out.0", channels, channels);
    }

    /** Self-attention: the context is not used. */
    @Override
    Tensor forward(Tensor x, Tensor context) {
        return forward(x);
    }

    /** [B, C, H, W] -> [B, C, H, W]. */
    public Tensor forward(Tensor x) {
        // Own scope, as in ResnetBlock: only the output outlives the call.
        return Scopes.keep(() -> {
            long b = x.size(0);
            long c = x.size(1);
            long h = x.size(2);
            long w = x.size(3);
            long d = c / heads;
            if (toQ.pointwiseReady(x)) {
                // Inference: the projections as channels-last 1x1 convolutions, whose memory is already [B, HW, C].
                Tensor normed = groupNorm.forward(x);
                Tensor q = heads(toQ.pointwise(normed), d);
                Tensor k = heads(toK.pointwise(normed), d);
                Tensor v = heads(toV.pointwise(normed), d);
                Tensor att = attend(q, k, v).transpose(1, 2).reshape(b, h, w, c).permute(0, 3, 1, 2);
                return x.add(toOut.pointwise(att));
            }
            // [B, C, H, W] -> [B, HW, C], normalised over channels first.
            Tensor seq = groupNorm.forward(x).view(b, c, h * w).transpose(1, 2);
            Tensor q = toQ.forward(seq).view(b, -1, heads, d).transpose(1, 2);
            Tensor k = toK.forward(seq).view(b, -1, heads, d).transpose(1, 2);
            Tensor v = toV.forward(seq).view(b, -1, heads, d).transpose(1, 2);
            Tensor att = attend(q, k, v).transpose(1, 2).reshape(b, h * w, c);
            Tensor out = toOut.forward(att).transpose(1, 2).reshape(b, c, h, w);
            // x first: the sum takes its layout (channels-last in the U-Net), not the reshaped NCHW output's.
            return x.add(out);
        });
    }

    /** [B, heads * d, H, W] channels-last -> [B, heads, HW, d] with d innermost (as the fused kernel wants), a view. */
    private Tensor heads(Tensor y, long d) {
        return y.permute(0, 2, 3, 1).view(y.size(0), y.size(2) * y.size(3), heads, d).transpose(1, 2);
    }

    /**
     * softmax(q k^T / sqrt(d)) v for [B, heads, N, d] inputs. float32 goes through scaled_dot_product_attention. In
     * bf16 (autocast or bf16 weights) libtorch's CPU flash-attention kernel falls back to a scalar reference GEMM,
     * which took half of a bf16 train step; two batched matmuls run on oneDNN's bf16 kernels instead. The scale goes
     * on q (N x d) rather than on the N x N scores, and the softmax takes bf16 in and out (libtorch accumulates it in
     * float32): a float32 N x N intermediate and its cast made this path 2x slower at 14x14.
     */
    public static Tensor attend(Tensor q, Tensor k, Tensor v) {
        if (q.scalar_type().value != torch.ScalarType.BFloat16.value) {
            return torch.scaled_dot_product_attention(q, k, v);
        }
        Tensor scores = torch.matmul(q.mul(Tensors.scalar(1 / Math.sqrt(q.size(3)))), k.transpose(2, 3));
        return torch.matmul(torch.softmax(scores, -1, new ScalarTypeOptional()), v);
    }
}
