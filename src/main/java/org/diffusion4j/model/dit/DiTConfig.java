package org.diffusion4j.model.dit;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import org.diffusion4j.model.Network;
import org.diffusion4j.model.NetworkConfig;
import org.diffusion4j.model.ParameterShapes;
import org.diffusion4j.model.unet.DiffusersConfig;
import org.diffusion4j.tensor.Rng;

/**
 * diffusers' {@code DiTTransformer2DModel} config (Peebles &amp; Xie 2023), with its field names: patches of the
 * image become tokens, adaLN-Zero transformer blocks conditioned on timestep and class, a final adaLN layer and the
 * patches back. Width D = num_attention_heads x attention_head_dim.
 *
 * @param sampleSize        image (or latent) height = width
 * @param patchSize         p: each p x p patch is one token, (sample_size / p)^2 tokens
 * @param inChannels        input channels
 * @param outChannels       in_channels, or twice that for a learned variance (the second half, Nichol &amp;
 *                          Dhariwal 2021's interpolation v in [-1, 1] between beta-tilde_t and beta_t)
 * @param numLayers         transformer blocks
 * @param numAttentionHeads heads per block
 * @param attentionHeadDim  width per head
 * @param numEmbedsAdaNorm  classes; the label table has one more row, the "no class" of classifier-free guidance
 *                          (index num_embeds_ada_norm). 0 makes an unconditional model (only that row)
 * @param normEps           epsilon of the LayerNorm before each feed-forward (1e-5; the others use 1e-6 as diffusers)
 */
public record DiTConfig(int sampleSize, int patchSize, int inChannels, int outChannels, int numLayers,
                        int numAttentionHeads, int attentionHeadDim, int numEmbedsAdaNorm, double normEps)
        implements NetworkConfig {
    /** Width of the sinusoidal timestep features each block's embedder reads (diffusers' Timesteps(256)). */
    static final int TIME_FEATURES = 256;
    private static final int MAX = 1 << 15;

    public DiTConfig {
        check("sample_size", sampleSize, 1, MAX);
        check("patch_size", patchSize, 1, sampleSize);
        check("in_channels", inChannels, 1, MAX);
        check("num_layers", numLayers, 1, 1024);
        check("num_attention_heads", numAttentionHeads, 1, 1024);
        check("attention_head_dim", attentionHeadDim, 1, MAX);
        check("num_embeds_ada_norm", numEmbedsAdaNorm, 0, 1 << 20);
        if (outChannels != inChannels && outChannels != 2 * inChannels) {
            throw new IllegalArgumentException("out_channels must be in_channels (" + inChannels + ") or twice it "
                    + "for a learned variance, got " + outChannels);
        }
        if (sampleSize % patchSize != 0) {
            throw new IllegalArgumentException("sample_size " + sampleSize + " is not a multiple of patch_size "
                    + patchSize);
        }
        long width = (long) numAttentionHeads * attentionHeadDim;
        if (width > MAX || width % 4 != 0) {
            throw new IllegalArgumentException("the width num_attention_heads x attention_head_dim = " + width
                    + " must be a multiple of 4 (the 2-D sin-cos positions split it in four) and at most " + MAX);
        }
        if (!(normEps > 0)) {
            throw new IllegalArgumentException("norm_eps must be > 0, got " + normEps);
        }
    }

    private static void check(String key, int value, int min, int max) {
        if (value < min || value > max) {
            throw new IllegalArgumentException(key + " must be in [" + min + ", " + max + "], got " + value);
        }
    }

    /**
     * A class-conditional DiT to train here: out = in channels, head width {@code width / heads}.
     *
     * @param shape   one sample [C, H, H]
     * @param classes number of classes, 0 for an unconditional model
     */
    public static DiTConfig of(long[] shape, int patch, int depth, int width, int heads, int classes) {
        if (shape.length != 3 || shape[1] != shape[2]) {
            throw new IllegalArgumentException("DiT needs square images [C, H, H], got samples of shape "
                    + java.util.Arrays.toString(shape));
        }
        if (heads < 1 || width % heads != 0) {
            throw new IllegalArgumentException("--width " + width + " must split into --heads " + heads);
        }
        return new DiTConfig((int) shape[1], patch, (int) shape[0], (int) shape[0], depth, heads, width / heads,
                classes, 1e-5);
    }

    /** D, the token width. */
    public int width() {
        return numAttentionHeads * attentionHeadDim;
    }

    /** Tokens per side: sample_size / patch_size. */
    public int grid() {
        return sampleSize / patchSize;
    }

    /** Whether the output carries a learned variance after the prediction. */
    public boolean learnedSigma() {
        return outChannels == 2 * inChannels;
    }

    @Override
    public String modelType() {
        return "dit";
    }

    @Override
    public long[] sampleShape() {
        return new long[] {inChannels, sampleSize, sampleSize};
    }

    /** The label rows: classes and "no class"; null for an unconditional model, which takes no labels. */
    @Override
    public Integer numClassEmbeds() {
        return numEmbedsAdaNorm > 0 ? numEmbedsAdaNorm + 1 : null;
    }

    @Override
    public ParameterShapes parameterShapes() {
        int d = width();
        ParameterShapes p = new ParameterShapes();
        p.conv("pos_embed.proj", inChannels, d, patchSize);
        for (int i = 0; i < numLayers; i++) {
            String b = "transformer_blocks." + i;
            p.linear(b + ".norm1.emb.timestep_embedder.linear_1", TIME_FEATURES, d)
                    .linear(b + ".norm1.emb.timestep_embedder.linear_2", d, d)
                    .add(b + ".norm1.emb.class_embedder.embedding_table.weight", numEmbedsAdaNorm + 1L, d)
                    .linear(b + ".norm1.linear", d, 6L * d);
            for (String proj : List.of("to_q", "to_k", "to_v", "to_out.0")) {
                p.linear(b + ".attn1." + proj, d, d);
            }
            p.linear(b + ".ff.net.0.proj", d, 4L * d).linear(b + ".ff.net.2", 4L * d, d);
        }
        return p.linear("proj_out_1", d, 2L * d)
                .linear("proj_out_2", d, (long) patchSize * patchSize * outChannels);
    }

    /** The attention scores of every head and the feed-forward's 4D-wide hidden layer, per token. */
    @Override
    public long activationBytesPerSample() {
        long n = (long) grid() * grid();
        return (n * n * numAttentionHeads + 4L * n * width()) * Float.BYTES;
    }

    /** A network with DiT's initialisation (zeroed adaLN-Zero modulation and output layer). */
    @Override
    public Network build(Rng rng) {
        DiTTransformer2DModel m = new DiTTransformer2DModel(this);
        m.initialise(rng);
        return m;
    }

    /** Keys accepted only with the value implemented here. */
    private static final Map<String, Predicate<JsonNode>> FIXED = Map.of(
            "activation_fn", v -> v.isTextual() && v.textValue().equals("gelu-approximate"),
            "attention_bias", v -> v.isBoolean() && v.booleanValue(),
            "norm_elementwise_affine", v -> v.isBoolean() && !v.booleanValue(),
            "norm_type", v -> v.isTextual() && v.textValue().equals("ada_norm_zero"),
            // Attention runs in float32 in every precision here, which is what upcasting asks for.
            "upcast_attention", v -> v.isBoolean());

    /** Provenance, training-only settings, and norm_num_groups, which DiT's layers never read. */
    private static final List<String> IGNORED = List.of("_class_name", "_diffusers_version", "_name_or_path",
            "dropout", "norm_num_groups");

    private static final List<String> READ = List.of("sample_size", "patch_size", "in_channels", "out_channels",
            "num_layers", "num_attention_heads", "attention_head_dim", "num_embeds_ada_norm", "norm_eps");

    /**
     * Reads a diffusers {@code transformer/config.json}: missing keys take diffusers' defaults, an unknown key or an
     * unsupported value is an error naming it and {@code source}.
     */
    public static DiTConfig read(JsonNode json, String source) {
        DiffusersConfig.requireKnown(json, source, "DiTTransformer2DModel", FIXED, IGNORED, READ);
        try {
            int in = DiffusersConfig.intOr(json, "in_channels", 4);
            Integer out = DiffusersConfig.nullableInt(json, "out_channels");
            Integer classes = DiffusersConfig.nullableInt(json, "num_embeds_ada_norm");
            return new DiTConfig(DiffusersConfig.intOr(json, "sample_size", 32),
                    DiffusersConfig.intOr(json, "patch_size", 2), in, out == null ? in : out,
                    DiffusersConfig.intOr(json, "num_layers", 28), DiffusersConfig.intOr(json, "num_attention_heads",
                    16), DiffusersConfig.intOr(json, "attention_head_dim", 72), classes == null ? 1000 : classes,
                    json.has("norm_eps") ? json.get("norm_eps").asDouble() : 1e-5);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(source + ": " + e.getMessage(), e);
        }
    }
}
