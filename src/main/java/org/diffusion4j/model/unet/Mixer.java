package org.diffusion4j.model.unet;

import org.bytedeco.pytorch.Tensor;

/**
 * What follows a resnet in an attention block: spatial self-attention in a UNet2DModel, a transformer with
 * cross-attention to the text in a UNet2DConditionModel.
 */
abstract class Mixer extends Layers.Node {
    /**
     * @param x       [B, C, H, W]
     * @param context [B, N, cross_attention_dim] for cross-attention, else null
     * @return [B, C, H, W]
     */
    abstract Tensor forward(Tensor x, Tensor context);
}
