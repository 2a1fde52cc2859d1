package org.diffusion4j.model.unet;

import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.diffusion4j.tensor.Tensors;

/**
 * DownBlock2D, AttnDownBlock2D and CrossAttnDownBlock2D: resnets, each optionally followed by a mixer (attention or
 * a transformer), then a stride-2 conv.
 */
final class DownBlock extends Layers.Node {
    private final List<ResnetBlock> resnets = new ArrayList<>();
    private final List<Mixer> attentions = new ArrayList<>();
    private final Layers.Conv2d downsampler;
    private final boolean padBottomRight;

    DownBlock(BlockShape c, int in, int out, boolean downsample) {
        padBottomRight = c.downsamplePadding() == 0;
        Module r = container(this, "resnets");
        Module a = c.mixer() != null ? container(this, "attentions") : null;
        for (int j = 0; j < c.layersPerBlock(); j++) {
            resnets.add(r.register_module(Integer.toString(j),
                    new ResnetBlock(j == 0 ? in : out, out, c.tembChannels(), c.groups(), c.eps())));
            if (a != null) {
                attentions.add(a.register_module(Integer.toString(j), c.mixer().apply(out)));
            }
        }
        if (downsample) {
            Module d = container(this, "downsamplers");
            Module op = container(d, "0");
            downsampler = op.register_module("conv", new Layers.Conv2d(out, out, 3, 2, c.downsamplePadding()));
        } else {
            downsampler = null;
        }
    }

    /**
     * @param context what cross-attention attends to, or null
     * @param skips   receives every resnet output and the downsampled output, for the up path
     * @return the block's output
     */
    Tensor forward(Tensor x, Tensor temb, Tensor context, List<Tensor> skips) {
        for (int j = 0; j < resnets.size(); j++) {
            x = resnets.get(j).forward(x, temb);
            if (!attentions.isEmpty()) {
                x = attentions.get(j).forward(x, context);
            }
            skips.add(x);
        }
        if (downsampler != null) {
            // downsample_padding 0: diffusers pads (0, 1, 0, 1), as the original DDPM's TensorFlow "SAME" conv did.
            x = downsampler.forward(padBottomRight ? torch.constant_pad_nd(x,
                    new long[] {0, 1, 0, 1}, Tensors.scalar(0)) : x);
            skips.add(x);
        }
        return x;
    }
}
