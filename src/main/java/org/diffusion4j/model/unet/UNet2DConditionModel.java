package org.diffusion4j.model.unet;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.function.IntFunction;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.diffusion4j.model.Parameters;
import org.diffusion4j.model.TimestepEmbedding;
import org.diffusion4j.tensor.Scopes;
import org.diffusion4j.tensor.Shapes;
import org.diffusion4j.tensor.Torch;

/**
 * diffusers' UNet2DConditionModel, the denoiser of Stable Diffusion 1.x/2.x: the UNet2DModel's resnets, time
 * embedding and down/up sampling, with Transformer2D blocks that attend to the text after the resnets of
 * CrossAttnDownBlock2D, CrossAttnUpBlock2D and the mid block. diffusers' parameter names, so a pipeline's
 * {@code unet/diffusion_pytorch_model.safetensors} loads as it is.
 */
public final class UNet2DConditionModel extends Layers.Node {
    private final UNet2DConditionConfig config;
    private final Layers.Conv2d convIn;
    private final Layers.Linear timeLinear1;
    private final Layers.Linear timeLinear2;
    private final Levels levels;
    private final Layers.GroupNorm convNormOut;
    private final Layers.Conv2d convOut;

    /** Built with zero weights: load them with {@link #load} or {@link Parameters#load}. */
    public UNet2DConditionModel(UNet2DConditionConfig c) {
        Torch.init();
        this.config = c;
        List<Integer> ch = c.blockOutChannels();
        int n = ch.size();
        int temb = c.timeEmbedDim();
        convIn = register_module("conv_in", new Layers.Conv2d(c.inChannels(), ch.get(0), 3, 1, 1));
        Module te = container(this, "time_embedding");
        timeLinear1 = te.register_module("linear_1", new Layers.Linear(ch.get(0), temb));
        timeLinear2 = te.register_module("linear_2", new Layers.Linear(temb, temb));
        BlockShape plain = new BlockShape(c.layersPerBlock(), temb, c.normNumGroups(), c.normEps(),
                c.downsamplePadding(), null);
        // The mid block's transformer never attends only to the text (diffusers passes it no such flag).
        this.levels = Levels.register(this, ch, i -> c.downBlockTypes().get(i).startsWith("CrossAttn")
                        ? plain.with(transformer(c.heads().get(i), c.onlyCross().get(i))) : plain,
                plain.with(transformer(c.heads().get(n - 1), false)),
                i -> c.upBlockTypes().get(i).startsWith("CrossAttn")
                        ? plain.with(transformer(c.heads().get(n - 1 - i), c.onlyCross().get(n - 1 - i))) : plain);
        convNormOut = register_module("conv_norm_out", new Layers.GroupNorm(c.normNumGroups(), ch.get(0),
                c.normEps()));
        convOut = register_module("conv_out", new Layers.Conv2d(ch.get(0), c.outChannels(), 3, 1, 1));
        Scopes.detach(this);
    }

    private IntFunction<Mixer> transformer(int heads, boolean onlyCross) {
        return channels -> new Transformer2D(channels, heads, config.normNumGroups(), config.crossAttnDim(),
                config.linearProj(), onlyCross);
    }

    public UNet2DConditionConfig config() {
        return config;
    }

    /**
     * Loads a diffusers {@code unet/} folder: {@code config.json} and {@code diffusion_pytorch_model.safetensors},
     * every parameter present with its shape and nothing else.
     */
    public static UNet2DConditionModel load(Path folder) throws IOException {
        return Parameters.loadFolder(folder, "a UNet2DConditionModel", UNet2DConditionConfig::read,
                UNet2DConditionModel::new);
    }

    /**
     * @param x       [B, in_channels, H, W], H and W divisible by 2^(levels - 1)
     * @param t       timesteps [B], or one for the whole batch (0-dim or [1])
     * @param context text embeddings [B, N, cross_attention_dim]
     * @return [B, out_channels, H, W]
     */
    public Tensor forward(Tensor x, Tensor t, Tensor context) {
        Shapes.require(x, "x", Shapes.ANY, config.inChannels(), Shapes.ANY, Shapes.ANY);
        Shapes.require(context, "text embeddings", x.size(0), Shapes.ANY, config.crossAttnDim());
        long b = x.size(0);
        if (t.dim() == 0 || (t.dim() == 1 && t.size(0) == 1 && b != 1)) {
            t = t.reshape(1).expand(b);
        }
        Shapes.require(t, "t", b);
        Levels.requireDivisible(x, config.blockOutChannels().size());
        Tensor emb = timeLinear2.forward(torch.silu(timeLinear1.forward(TimestepEmbedding.sinusoidal(t,
                config.blockOutChannels().get(0), config.flipSinToCos(), config.freqShift()).to(x.scalar_type()))));
        Tensor h = levels.forward(convIn.forward(x), emb, context);
        return convOut.forward(torch.silu(convNormOut.forward(h))).contiguous();
    }
}
