package org.diffusion4j.model.unet;

import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Tensor;

/** UNetMidBlock2D and UNetMidBlock2DCrossAttn: resnet, mixer (attention or a transformer), resnet. */
final class MidBlock extends Layers.Node {
    private final ResnetBlock first;
    private final Mixer attention;
    private final ResnetBlock second;

    MidBlock(BlockShape c, int channels) {
        Module r = container(this, "resnets");
        Module a = container(this, "attentions");
        first = r.register_module("0", new ResnetBlock(channels, channels, c.tembChannels(), c.groups(), c.eps()));
        attention = a.register_module("0", c.mixer().apply(channels));
        second = r.register_module("1", new ResnetBlock(channels, channels, c.tembChannels(), c.groups(), c.eps()));
    }

    /** @param context what cross-attention attends to, or null */
    Tensor forward(Tensor x, Tensor temb, Tensor context) {
        return second.forward(attention.forward(first.forward(x, temb), context), temb);
    }
}
