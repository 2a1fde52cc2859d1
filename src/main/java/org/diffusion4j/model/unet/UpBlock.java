package org.diffusion4j.model.unet;

import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/**
 * UpBlock2D, AttnUpBlock2D and CrossAttnUpBlock2D: layers_per_block + 1 resnets, each fed the concatenation of the
 * current features and the matching skip from the down path (optionally followed by a mixer), then nearest 2x
 * upsampling and a conv.
 */
final class UpBlock extends Layers.Node {
    private final List<ResnetBlock> resnets = new ArrayList<>();
    private final List<Mixer> attentions = new ArrayList<>();
    private final Layers.Conv2d upsampler;

    /**
     * @param in         channels of the deepest skip this block consumes (diffusers' in_channels)
     * @param prevOut    channels coming from the block below
     */
    UpBlock(BlockShape c, int in, int out, int prevOut, boolean upsample) {
        int layers = c.layersPerBlock() + 1;
        Module r = container(this, "resnets");
        Module a = c.mixer() != null ? container(this, "attentions") : null;
        for (int j = 0; j < layers; j++) {
            int skip = j == layers - 1 ? in : out;
            int resIn = j == 0 ? prevOut : out;
            resnets.add(r.register_module(Integer.toString(j),
                    new ResnetBlock(resIn + skip, out, c.tembChannels(), c.groups(), c.eps())));
            if (a != null) {
                attentions.add(a.register_module(Integer.toString(j), c.mixer().apply(out)));
            }
        }
        if (upsample) {
            Module u = container(this, "upsamplers");
            Module op = container(u, "0");
            upsampler = op.register_module("conv", new Layers.Conv2d(out, out, 3, 1, 1));
        } else {
            upsampler = null;
        }
    }

    /**
     * @param context what cross-attention attends to, or null
     * @param skips   the down path's outputs; this block pops its own from the end
     */
    Tensor forward(Tensor x, Tensor temb, Tensor context, List<Tensor> skips) {
        for (int j = 0; j < resnets.size(); j++) {
            Tensor skip = skips.remove(skips.size() - 1);
            x = resnets.get(j).forward(torch.cat(new TensorVector(x, skip), 1), temb);
            if (!attentions.isEmpty()) {
                x = attentions.get(j).forward(x, context);
            }
        }
        if (upsampler != null) {
            x = upsampler.forward(Layers.upsampleNearest2x(x));
        }
        return x;
    }
}
