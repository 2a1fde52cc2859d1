package org.diffusion4j.model.unet;

import java.util.List;
import org.bytedeco.javacpp.PointerScope;
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
 * diffusers' UNet2DModel: the same architecture, config fields and parameter names, so its safetensors weights load
 * directly. Positional time embedding, default resnet time scaling, conv down/upsampling and mid-block attention.
 */
public final class UNet2DModel extends Layers.Node implements Network {
    private final UNetConfig config;
    private final Layers.Conv2d convIn;
    private final Layers.Linear timeLinear1;
    private final Layers.Linear timeLinear2;
    private final Layers.Embedding classEmbedding;
    private final Levels levels;
    private final Layers.GroupNorm convNormOut;
    private final Layers.Conv2d convOut;

    /** Builds the network and initialises it from {@code rng} (PyTorch's default scheme). */
    public UNet2DModel(UNetConfig config, Rng rng) {
        Torch.init();
        this.config = config;
        List<Integer> ch = config.blockOutChannels();
        int temb = config.timeEmbedDim();
        convIn = register_module("conv_in", new Layers.Conv2d(config.inChannels(), ch.get(0), 3, 1, 1));
        Module te = container(this, "time_embedding");
        timeLinear1 = te.register_module("linear_1", new Layers.Linear(ch.get(0), temb));
        timeLinear2 = te.register_module("linear_2", new Layers.Linear(temb, temb));
        classEmbedding = config.numClassEmbeds() == null ? null
                : register_module("class_embedding", new Layers.Embedding(config.numClassEmbeds(), temb));

        BlockShape plain = new BlockShape(config.layersPerBlock(), temb, config.normNumGroups(), config.normEps(),
                config.downsamplePadding(), null);
        BlockShape attention = plain.with(c -> new Attention(c, config.heads(c), config.normNumGroups(),
                config.normEps()));
        this.levels = Levels.register(this, ch,
                i -> config.downBlockTypes().get(i).startsWith("Attn") ? attention : plain,
                attention, i -> config.upBlockTypes().get(i).startsWith("Attn") ? attention : plain);
        convNormOut = register_module("conv_norm_out", new Layers.GroupNorm(config.normNumGroups(), ch.get(0),
                config.normEps()));
        convOut = register_module("conv_out", new Layers.Conv2d(ch.get(0), config.outChannels(), 3, 1, 1));
        Init.pytorchDefault(this, rng);
        // Built possibly inside a caller's scope; the network must outlive it.
        Scopes.detach(this);
        if (classEmbedding != null) {
            try (PointerScope scope = new PointerScope(); NoGradGuard guard = new NoGradGuard()) {
                // nn.Embedding's default init is N(0, 1), not the fan-in uniform of linear layers.
                classEmbedding.weight().normal_(0, 1, rng.generator());
            }
        }
    }

    public UNetConfig config() {
        return config;
    }

    /**
     * @param x      [B, in_channels, sample_size, sample_size] (other sizes work if divisible by 2^(levels-1))
     * @param t      timesteps [B] (any real dtype)
     * @param labels int64 class labels [B] when the model has a class embedding, else null
     * @return [B, out_channels, H, W]
     */
    @Override
    public Tensor forward(Tensor x, Tensor t, Tensor labels) {
        Shapes.require(x, "x", Shapes.ANY, config.inChannels(), Shapes.ANY, Shapes.ANY);
        Shapes.require(t, "t", x.size(0));
        Levels.requireDivisible(x, config.blockOutChannels().size());
        Tensor emb = timeLinear2.forward(torch.silu(timeLinear1.forward(TimestepEmbedding.sinusoidal(t,
                config.blockOutChannels().get(0), config.flipSinToCos(), config.freqShift()).to(x.scalar_type()))));
        if (classEmbedding != null) {
            if (labels == null) {
                throw new IllegalArgumentException("this U-Net has a class embedding: class labels are required");
            }
            Shapes.require(labels, "class labels", x.size(0));
            emb = emb.add(classEmbedding.forward(labels));
        } else if (labels != null) {
            throw new IllegalArgumentException("this U-Net has no class embedding (num_class_embeds is null)");
        }
        // The activations run channels-last from here on: the convolutions return that layout (see Layers.Conv2d).
        Tensor h = levels.forward(convIn.forward(x), emb, null);
        return convOut.forward(torch.silu(convNormOut.forward(h))).contiguous();
    }

    @Override
    public Module module() {
        return this;
    }
}
