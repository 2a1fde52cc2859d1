package org.diffusion4j.model.unet;

import java.util.function.IntFunction;

/**
 * What the resnet blocks of a U-Net level share, whichever U-Net they are in.
 *
 * @param layersPerBlock    resnets per down block (up blocks get one more)
 * @param tembChannels      time embedding width
 * @param downsamplePadding the stride-2 convs' padding (0: pad bottom-right first, as the original DDPM)
 * @param mixer             the mixer after each resnet, given the block's channels; null for a plain block
 */
record BlockShape(int layersPerBlock, int tembChannels, int groups, double eps, int downsamplePadding,
                  IntFunction<Mixer> mixer) {
    /** The same shape with another mixer (null: none). */
    BlockShape with(IntFunction<Mixer> m) {
        return new BlockShape(layersPerBlock, tembChannels, groups, eps, downsamplePadding, m);
    }
}
