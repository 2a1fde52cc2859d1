package org.diffusion4j.model.unet;

import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Tensor;

/** UNetMidBlock2D: resnet, attention, resnet at the lowest resolution. */
final class MidBlock extends Layers.Node {
    private final ResnetBlock first;
    private final Attention attention;
    private final ResnetBlock second;

    MidBlock(UNetConfig c, int channels) {
        Module r = container(this, "resnets");
        Module a = container(this, "attentions");
        first = r.register_module("0", new ResnetBlock(channels, channels, c.timeEmbedDim(), c.normNumGroups(), c.normEps()));
        attention = a.register_module("0", new Attention(channels, c.heads(channels), c.normNumGroups(), c.normEps()));
        second = r.register_module("1", new ResnetBlock(channels, channels, c.timeEmbedDim(), c.normNumGroups(), c.normEps()));
    }

    Tensor forward(Tensor x, Tensor temb) {
        return second.forward(attention.forward(first.forward(x, temb)), temb);
    }
}
