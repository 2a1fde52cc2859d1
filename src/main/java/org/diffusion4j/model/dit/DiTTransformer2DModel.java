package org.diffusion4j.model.dit;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.diffusion4j.model.Network;
import org.diffusion4j.model.Parameters;
import org.diffusion4j.model.TimestepEmbedding;
import org.diffusion4j.model.unet.Attention;
import org.diffusion4j.model.unet.Layers;
import org.diffusion4j.tensor.DeviceSpec;
import org.diffusion4j.tensor.Rng;
import org.diffusion4j.tensor.Scopes;
import org.diffusion4j.tensor.Shapes;
import org.diffusion4j.tensor.Tensors;
import org.diffusion4j.tensor.Torch;

/**
 * diffusers' DiTTransformer2DModel (Peebles &amp; Xie 2023), with its parameter names, so a pipeline's
 * {@code transformer/diffusion_pytorch_model.safetensors} loads as it is:
 *
 * <pre>
 *   h = patches(x) W + b + pos                       [B, N, D], N = (H / p)(W / p), 2-D sin-cos positions
 *   per block: c = MLP(sinusoid(t)) + table[label]   (each block has its own embedder, as diffusers)
 *     shift1, scale1, gate1, shift2, scale2, gate2 = Linear(SiLU(c))
 *     h += gate1 Attn(LN(h) (1 + scale1) + shift1)
 *     h += gate2 FF(LN(h) (1 + scale2) + shift2)       FF: Linear(D, 4D), tanh GELU, Linear(4D, D)
 *   shift, scale = Linear(SiLU(c of block 0));  out = Linear(LN(h) (1 + scale) + shift), patches back to pixels
 * </pre>
 *
 * The patch embedding is diffusers' stride-p convolution written as one matrix product over flattened patches (the
 * same sums, without a convolution kernel).
 */
public final class DiTTransformer2DModel extends Layers.Node implements Network {
    private final DiTConfig config;
    private final Tensor patchWeight;
    private final Tensor patchBias;
    private final List<Block> blocks = new ArrayList<>();
    private final Layers.Linear projOut1;
    private final Layers.Linear projOut2;
    private final Tensor positions;

    /** Built with zero weights: load them ({@link #load}) or initialise them ({@link DiTConfig#build}). */
    public DiTTransformer2DModel(DiTConfig config) {
        Torch.init();
        this.config = config;
        int d = config.width();
        int p = config.patchSize();
        Module proj = container(container(this, "pos_embed"), "proj");
        patchWeight = Layers.param(proj, "weight", torch.zeros(d, config.inChannels(), p, p));
        patchBias = Layers.param(proj, "bias", torch.zeros(d));
        Module list = container(this, "transformer_blocks");
        for (int i = 0; i < config.numLayers(); i++) {
            blocks.add(list.register_module(Integer.toString(i), new Block(config)));
        }
        projOut1 = register_module("proj_out_1", new Layers.Linear(d, 2 * d));
        projOut2 = register_module("proj_out_2", new Layers.Linear(d, p * p * config.outChannels()));
        positions = Scopes.detach(positions(d, config.grid(), config.grid(), config.grid()));
        Scopes.detach(this);
    }

    public DiTConfig config() {
        return config;
    }

    /**
     * Loads a diffusers {@code transformer/} folder: {@code config.json} and {@code
     * diffusion_pytorch_model.safetensors}, every parameter present with its shape and nothing else.
     */
    public static DiTTransformer2DModel load(Path folder) throws IOException {
        return Parameters.loadFolder(folder, "a DiTTransformer2DModel", DiTConfig::read, DiTTransformer2DModel::new);
    }

    /**
     * DiT's initialisation: Xavier-uniform linear layers (the patch embedding as one flattened matrix) with zero
     * biases, N(0, 0.02) label tables and timestep MLPs, and zeros for every adaLN modulation and the output layer,
     * so each block starts as the identity and the network predicts 0 ("adaLN-Zero").
     */
    void initialise(Rng rng) {
        try (PointerScope scope = new PointerScope(); NoGradGuard guard = new NoGradGuard()) {
            for (var e : Parameters.named(this).entrySet()) {
                String name = e.getKey();
                Tensor w = e.getValue();
                if (name.endsWith(".bias") || name.contains(".norm1.linear.") || name.startsWith("proj_out_")) {
                    w.zero_();
                } else if (name.contains("embedding_table") || name.contains("timestep_embedder")) {
                    w.normal_(0, 0.02, rng.generator());
                } else {
                    long out = w.size(0);
                    long in = w.numel() / out;
                    double bound = Math.sqrt(6.0 / (in + out));
                    w.uniform_(-bound, bound, rng.generator());
                }
            }
        }
    }

    /**
     * @param x      [B, in_channels, H, W], H and W multiples of patch_size (the positions follow diffusers for sizes
     *               other than sample_size)
     * @param t      timesteps [B] (any real or integer dtype)
     * @param labels int64 class labels [B] in [0, num_embeds_ada_norm] (the last is "no class"), or null for "no
     *               class" on every row
     * @return [B, out_channels, H, W]
     */
    @Override
    public Tensor forward(Tensor x, Tensor t, Tensor labels) {
        Shapes.require(x, "x", Shapes.ANY, config.inChannels(), Shapes.ANY, Shapes.ANY);
        long b = x.size(0);
        int p = config.patchSize();
        if (x.size(2) % p != 0 || x.size(3) % p != 0) {
            throw new IllegalArgumentException("x: height and width must be multiples of the patch size " + p
                    + ", got " + Shapes.str(x));
        }
        if (t.dim() == 0 || (t.dim() == 1 && t.size(0) == 1 && b != 1)) {
            t = t.reshape(1).expand(b);
        }
        Shapes.require(t, "t", b);
        if (labels == null) {
            labels = torch.full(new long[] {b}, Tensors.scalar(config.numEmbedsAdaNorm()),
                    DeviceSpec.optionsLike(x, torch.ScalarType.Long));
        }
        Shapes.require(labels, "class labels", b);
        long gh = x.size(2) / p;
        long gw = x.size(3) / p;
        long d = config.width();
        // [B, C, gh, p, gw, p] -> [B, gh, gw, C, p, p]: each row one flattened patch, in the conv weight's order.
        Tensor patches = x.reshape(b, config.inChannels(), gh, p, gw, p).permute(0, 2, 4, 1, 3, 5)
                .reshape(b, gh * gw, (long) config.inChannels() * p * p);
        Tensor pos = gh == config.grid() && gw == config.grid() ? positions
                : positions((int) d, (int) gh, (int) gw, config.grid());
        Tensor h = torch.linear(patches, patchWeight.reshape(d, -1), new TensorOptional(patchBias))
                .add(pos.to(x.scalar_type()));
        Tensor features = TimestepEmbedding.sinusoidal(t, DiTConfig.TIME_FEATURES, true, 1).to(x.scalar_type());
        Tensor first = null;
        for (Block block : blocks) {
            Tensor c = block.condition(features, labels);
            if (first == null) {
                first = c;
            }
            h = block.forward(h, c);
        }
        Tensor[] mod = chunks(projOut1.forward(torch.silu(first)), 2);
        h = modulate(layerNorm(h, 1e-6), mod[0], mod[1]);
        h = projOut2.forward(h);
        long out = config.outChannels();
        // [B, gh, gw, p, p, out] -> [B, out, gh, p, gw, p] (diffusers' einsum nhwpqc->nchpwq).
        return h.reshape(b, gh, gw, p, p, out).permute(0, 5, 1, 3, 2, 4).reshape(b, out, gh * p, gw * p)
                .contiguous();
    }

    @Override
    public Module module() {
        return this;
    }

    /**
     * diffusers' {@code get_2d_sincos_pos_embed(dim, (gh, gw), base_size)}: token (i, j) of the row-major grid gets
     * [sin(u w), cos(u w)] for the column coordinate u = j / (gw / base) in its first D/2 entries and the same for the
     * row coordinate in the last D/2, w_k = 10000^(-k / (D/4)); computed in float64 and rounded to float32 as numpy
     * and diffusers do.
     *
     * @return float32 [1, gh * gw, dim]
     */
    public static Tensor positions(int dim, int gh, int gw, int base) {
        int quarter = dim / 4;
        float[] out = new float[gh * gw * dim];
        double[] omega = new double[quarter];
        for (int k = 0; k < quarter; k++) {
            omega[k] = 1.0 / Math.pow(10000, k / (double) quarter);
        }
        for (int i = 0; i < gh; i++) {
            // numpy's grid is float32: arange(g, float32) / (g / base).
            float row = (float) i / (float) ((double) gh / base);
            for (int j = 0; j < gw; j++) {
                float col = (float) j / (float) ((double) gw / base);
                int at = (i * gw + j) * dim;
                for (int k = 0; k < quarter; k++) {
                    double u = col * omega[k];
                    double v = row * omega[k];
                    out[at + k] = (float) Math.sin(u);
                    out[at + quarter + k] = (float) Math.cos(u);
                    out[at + 2 * quarter + k] = (float) Math.sin(v);
                    out[at + 3 * quarter + k] = (float) Math.cos(v);
                }
            }
        }
        return Tensors.fromFloats(out, 1, (long) gh * gw, dim);
    }

    /** x (1 + scale) + shift, with [B, D] scale and shift broadcast over the tokens. */
    private static Tensor modulate(Tensor x, Tensor shift, Tensor scale) {
        return x.mul(scale.unsqueeze(1).add(Tensors.scalar(1))).add(shift.unsqueeze(1));
    }

    /** LayerNorm over the last dimension without affine parameters. */
    private static Tensor layerNorm(Tensor x, double eps) {
        return torch.layer_norm(x, new long[] {x.size(-1)}, new TensorOptional(), new TensorOptional(), eps, false);
    }

    private static Tensor[] chunks(Tensor t, int n) {
        long w = t.size(1) / n;
        Tensor[] out = new Tensor[n];
        for (int i = 0; i < n; i++) {
            out[i] = t.narrow(1, i * w, w);
        }
        return out;
    }

    /** BasicTransformerBlock with norm_type ada_norm_zero and no cross-attention. */
    static final class Block extends Layers.Node {
        private final Layers.Linear time1;
        private final Layers.Linear time2;
        private final Tensor table;
        private final Layers.Linear modulation;
        private final Layers.Linear toQ;
        private final Layers.Linear toK;
        private final Layers.Linear toV;
        private final Layers.Linear toOut;
        private final Layers.Linear ffIn;
        private final Layers.Linear ffOut;
        private final int heads;
        private final double normEps;

        Block(DiTConfig c) {
            int d = c.width();
            heads = c.numAttentionHeads();
            normEps = c.normEps();
            Module norm1 = container(this, "norm1");
            Module emb = container(norm1, "emb");
            Module te = container(emb, "timestep_embedder");
            time1 = te.register_module("linear_1", new Layers.Linear(DiTConfig.TIME_FEATURES, d));
            time2 = te.register_module("linear_2", new Layers.Linear(d, d));
            table = Layers.param(container(container(emb, "class_embedder"), "embedding_table"), "weight",
                    torch.zeros(c.numEmbedsAdaNorm() + 1, d));
            modulation = norm1.register_module("linear", new Layers.Linear(d, 6 * d));
            Module attn = container(this, "attn1");
            toQ = attn.register_module("to_q", new Layers.Linear(d, d));
            toK = attn.register_module("to_k", new Layers.Linear(d, d));
            toV = attn.register_module("to_v", new Layers.Linear(d, d));
            toOut = container(attn, "to_out").register_module("0", new Layers.Linear(d, d));
            Module net = container(container(this, "ff"), "net");
            ffIn = container(net, "0").register_module("proj", new Layers.Linear(d, 4 * d));
            ffOut = net.register_module("2", new Layers.Linear(4 * d, d));
        }

        /** c = MLP(timestep features) + the label's row: [B, D]. */
        Tensor condition(Tensor features, Tensor labels) {
            Tensor time = time2.forward(torch.silu(time1.forward(features)));
            return time.add(torch.embedding(table, labels).to(time.scalar_type()));
        }

        /** [B, N, D] -> [B, N, D]. */
        Tensor forward(Tensor h, Tensor c) {
            return Scopes.keep(() -> {
                Tensor[] m = chunks(modulation.forward(torch.silu(c)), 6);
                Tensor a = attention(modulate(layerNorm(h, 1e-6), m[0], m[1]));
                Tensor x = h.add(m[2].unsqueeze(1).mul(a));
                Tensor f = ffOut.forward(torch.gelu(ffIn.forward(modulate(layerNorm(x, normEps), m[3], m[4])),
                        "tanh"));
                return x.add(m[5].unsqueeze(1).mul(f));
            });
        }

        private Tensor attention(Tensor x) {
            long b = x.size(0);
            long n = x.size(1);
            long d = x.size(2);
            long hd = d / heads;
            Tensor q = toQ.forward(x).view(b, n, heads, hd).transpose(1, 2);
            Tensor k = toK.forward(x).view(b, n, heads, hd).transpose(1, 2);
            Tensor v = toV.forward(x).view(b, n, heads, hd).transpose(1, 2);
            // float32 through scaled_dot_product_attention, bf16 (autocast) through two batched matmuls.
            Tensor att = Attention.attend(q, k, v);
            return toOut.forward(att.to(x.scalar_type()).transpose(1, 2).reshape(b, n, d));
        }
    }
}
