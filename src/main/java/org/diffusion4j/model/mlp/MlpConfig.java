package org.diffusion4j.model.mlp;

import org.diffusion4j.model.Network;
import org.diffusion4j.model.NetworkConfig;
import org.diffusion4j.model.ParameterShapes;
import org.diffusion4j.tensor.Rng;

/**
 * A residual MLP denoiser for flat data of any dimension (2-D toy sets, short 1-D signals).
 *
 * @param dataDim      D, the width of one sample (2 for the toy sets)
 * @param hidden       width of every hidden layer (128 trains the toy sets in about a minute on 2 cores)
 * @param depth        number of residual blocks (3 is enough for swiss roll and checkerboard)
 * @param timeEmbedDim width of the sinusoidal time features fed to the time MLP (64)
 * @param numClassEmbeds number of class embeddings added to the time embedding (classes + 1 with a null class for
 *                       classifier-free guidance); null for an unconditional model
 */
public record MlpConfig(int dataDim, int hidden, int depth, int timeEmbedDim, Integer numClassEmbeds)
        implements NetworkConfig {
    public MlpConfig {
        if (numClassEmbeds != null) {
            check("num_class_embeds", numClassEmbeds, 1, 1 << 20);
        }
        check("data_dim", dataDim, 1, 1 << 20);
        check("hidden", hidden, 1, 1 << 16);
        check("depth", depth, 0, 256);
        check("time_embed_dim", timeEmbedDim, 2, 1 << 16);
    }

    /** Unconditional. */
    public MlpConfig(int dataDim, int hidden, int depth, int timeEmbedDim) {
        this(dataDim, hidden, depth, timeEmbedDim, null);
    }

    /** The default toy model: 2-D data, 128 wide, 3 blocks, 64 time features. */
    public static MlpConfig toy2d() {
        return new MlpConfig(2, 128, 3, 64);
    }

    @Override
    public String modelType() {
        return "mlp";
    }

    @Override
    public long[] sampleShape() {
        return new long[] {dataDim};
    }

    @Override
    public Network build(Rng rng) {
        return new MlpNet(this, rng);
    }

    @Override
    public ParameterShapes parameterShapes() {
        ParameterShapes p = new ParameterShapes().linear("time_fc1", timeEmbedDim, hidden).linear("time_fc2", hidden, hidden)
                .linear("in_proj", dataDim, hidden);
        for (int i = 0; i < depth; i++) {
            p.linear("blocks_" + i + "_fc1", hidden, hidden).linear("blocks_" + i + "_fc2", hidden, hidden);
        }
        p.linear("out_proj", hidden, dataDim);
        if (numClassEmbeds != null) {
            p.add("class_embedding.weight", numClassEmbeds, hidden);
        }
        return p;
    }

    /** A block's input, its hidden activation and the time embedding: three rows of the hidden width. */
    @Override
    public long activationBytesPerSample() {
        return 3L * hidden * Float.BYTES;
    }

    private static void check(String name, int v, int lo, int hi) {
        if (v < lo || v > hi) {
            throw new IllegalArgumentException("mlp " + name + " must be in [" + lo + ", " + hi + "], got " + v);
        }
    }
}
