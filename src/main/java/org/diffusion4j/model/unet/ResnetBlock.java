package org.diffusion4j.model.unet;

import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.diffusion4j.model.ParameterShapes;
import org.diffusion4j.tensor.Scopes;

/**
 * diffusers' ResnetBlock2D with the default settings: GroupNorm-SiLU-conv, add the projected time embedding,
 * GroupNorm-SiLU-conv, plus a 1x1 conv shortcut when the channel count changes. With {@code tembChannels} 0 there
 * is no time embedding (the autoencoder's blocks, diffusers' {@code temb_channels=None}).
 */
public final class ResnetBlock extends Layers.Node {
    private final Layers.GroupNorm norm1;
    private final Layers.Conv2d conv1;
    private final Layers.Linear timeEmbProj;
    private final Layers.GroupNorm norm2;
    private final Layers.Conv2d conv2;
    private final Layers.Conv2d convShortcut;

    public ResnetBlock(int in, int out, int tembChannels, int groups, double eps) {
        norm1 = register_module("norm1", new Layers.GroupNorm(groups, in, eps));
        conv1 = register_module("conv1", new Layers.Conv2d(in, out, 3, 1, 1));
        timeEmbProj = tembChannels > 0 ? register_module("time_emb_proj", new Layers.Linear(tembChannels, out)) : null;
        norm2 = register_module("norm2", new Layers.GroupNorm(groups, out, eps));
        conv2 = register_module("conv2", new Layers.Conv2d(out, out, 3, 1, 1));
        convShortcut = in != out ? register_module("conv_shortcut", new Layers.Conv2d(in, out, 1, 1, 0)) : null;
    }

    /** Adds the parameters this block's constructor creates under {@code name}. */
    public static void shapes(ParameterShapes p, String name, int in, int out, int tembChannels) {
        p.groupNorm(name + ".norm1", in).conv(name + ".conv1", in, out, 3);
        if (tembChannels > 0) {
            p.linear(name + ".time_emb_proj", tembChannels, out);
        }
        p.groupNorm(name + ".norm2", out).conv(name + ".conv2", out, out, 3);
        if (in != out) {
            p.conv(name + ".conv_shortcut", in, out, 1);
        }
    }

    /**
     * @param x    [B, in, H, W]
     * @param temb [B, temb], or null for a block built without a time embedding
     * @return [B, out, H, W]
     */
    public Tensor forward(Tensor x, Tensor temb) {
        if ((temb == null) != (timeEmbProj == null)) {
            throw new IllegalArgumentException(timeEmbProj == null ? "this block has no time embedding"
                    : "this block needs a time embedding");
        }
        // Own scope: without it every intermediate lives until the caller's step scope closes, and a no-grad
        // forward holds all of them at once (the wide bench U-Net's sampling peaked above its training).
        return Scopes.keep(() -> {
            Tensor h = conv1.forward(torch.silu(norm1.forward(x)));
            if (timeEmbProj != null) {
                h = h.add(timeEmbProj.forward(torch.silu(temb)).unsqueeze(2).unsqueeze(3));
            }
            h = conv2.forward(torch.silu(norm2.forward(h)));
            Tensor skip = convShortcut == null ? x : convShortcut.forward(x);
            return skip.add(h);
        });
    }
}
