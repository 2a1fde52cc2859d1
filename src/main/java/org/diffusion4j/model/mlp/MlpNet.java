package org.diffusion4j.model.mlp;

import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.EmbeddingImpl;
import org.bytedeco.pytorch.LinearImpl;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.diffusion4j.model.Init;
import org.diffusion4j.model.Network;
import org.diffusion4j.model.TimestepEmbedding;
import org.diffusion4j.tensor.Rng;
import org.diffusion4j.tensor.Scopes;
import org.diffusion4j.tensor.Shapes;
import org.diffusion4j.tensor.Torch;

/**
 * x [B, D], t [B] -> [B, D]. Time features go through a two-layer MLP and are added inside every residual block:
 * h += fc2(silu(fc1(silu(h)) + temb)).
 */
public final class MlpNet extends Module implements Network {
    private final MlpConfig config;
    private final LinearImpl timeFc1;
    private final LinearImpl timeFc2;
    private final LinearImpl inProj;
    private final List<LinearImpl[]> blocks = new ArrayList<>();
    private final LinearImpl outProj;
    private final EmbeddingImpl classEmbedding;

    /** Builds the network and initialises it from {@code rng}. */
    public MlpNet(MlpConfig config, Rng rng) {
        Torch.init();
        this.config = config;
        int h = config.hidden();
        timeFc1 = Scopes.detach(register_module("time_fc1", new LinearImpl(config.timeEmbedDim(), h)));
        timeFc2 = Scopes.detach(register_module("time_fc2", new LinearImpl(h, h)));
        inProj = Scopes.detach(register_module("in_proj", new LinearImpl(config.dataDim(), h)));
        for (int i = 0; i < config.depth(); i++) {
            LinearImpl fc1 = Scopes.detach(register_module("blocks_" + i + "_fc1", new LinearImpl(h, h)));
            LinearImpl fc2 = Scopes.detach(register_module("blocks_" + i + "_fc2", new LinearImpl(h, h)));
            blocks.add(new LinearImpl[] {fc1, fc2});
        }
        outProj = Scopes.detach(register_module("out_proj", new LinearImpl(h, config.dataDim())));
        classEmbedding = config.numClassEmbeds() == null ? null : Scopes.detach(register_module("class_embedding",
                new EmbeddingImpl(config.numClassEmbeds(), h)));
        Init.pytorchDefault(this, rng);
        if (classEmbedding != null) {
            try (NoGradGuard guard = new NoGradGuard()) {
                // nn.Embedding's default init is N(0, 1).
                classEmbedding.weight().normal_(0, 1, rng.generator());
            }
        }
        // Built possibly inside a caller's scope; the network must outlive it.
        Scopes.detach(this);
    }

    public MlpConfig config() {
        return config;
    }

    /**
     * @param x      [B, D]
     * @param t      float32 [B]
     * @param labels int64 [B] when the model has a class embedding (required then), else null
     * @return [B, D]
     */
    @Override
    public Tensor forward(Tensor x, Tensor t, Tensor labels) {
        Shapes.require(x, "x", Shapes.ANY, config.dataDim());
        Shapes.require(t, "t", x.size(0));
        Tensor temb = timeFc2.forward(torch.silu(timeFc1.forward(
                TimestepEmbedding.sinusoidal(t, config.timeEmbedDim(), true, 0))));
        if (classEmbedding != null) {
            if (labels == null) {
                throw new IllegalArgumentException("this MLP has a class embedding: class labels are required");
            }
            Shapes.require(labels, "class labels", x.size(0));
            temb = temb.add(classEmbedding.forward(labels));
        } else if (labels != null) {
            throw new IllegalArgumentException("this MLP has no class embedding; it cannot take class labels");
        }
        Tensor h = inProj.forward(x);
        for (LinearImpl[] b : blocks) {
            h = h.add(b[1].forward(torch.silu(b[0].forward(torch.silu(h)).add(temb))));
        }
        return outProj.forward(torch.silu(h));
    }

    @Override
    public Module module() {
        return this;
    }
}
