package org.diffusion4j.model.autoencoder;

import java.util.List;
import org.diffusion4j.tensor.Rng;

/**
 * A KL-regularised convolutional autoencoder (LDM's "AutoencoderKL", diffusers' field names where they exist).
 *
 * @param imageSize        image height = width, e.g. 28 for MNIST
 * @param inChannels       image channels (1 grey, 3 RGB)
 * @param blockOutChannels channels per level; each level after the first halves the resolution, so the latent is
 *                         2^(levels-1) times smaller per side (LDM's "f")
 * @param latentChannels   channels of the latent (4 in Stable Diffusion)
 * @param latentSize       latent height = width. The encoder pads images (replicating the border) to
 *                         latentSize * f and the decoder crops back, so 28x28 MNIST can have an 8x8 latent that a
 *                         U-Net can halve
 * @param layersPerBlock   resnets per encoder level (decoder levels get one more, as in diffusers)
 * @param normNumGroups    GroupNorm groups
 */
public record AutoencoderConfig(int imageSize, int inChannels, List<Integer> blockOutChannels, int latentChannels,
                                int latentSize, int layersPerBlock, int normNumGroups) {
    /** The type recorded in checkpoints. */
    public static final String TYPE = "autoencoder_kl";

    public AutoencoderConfig {
        if (blockOutChannels == null || blockOutChannels.isEmpty()) {
            throw new IllegalArgumentException("block_out_channels must not be empty");
        }
        blockOutChannels = List.copyOf(blockOutChannels);
        if (imageSize < 1 || inChannels < 1 || latentChannels < 1 || latentSize < 1 || layersPerBlock < 1) {
            throw new IllegalArgumentException("image_size, in_channels, latent_channels, latent_size and "
                    + "layers_per_block must be >= 1");
        }
        if (normNumGroups < 1) {
            throw new IllegalArgumentException("norm_num_groups must be >= 1, got " + normNumGroups);
        }
        for (int c : blockOutChannels) {
            if (c < 1 || c % normNumGroups != 0) {
                throw new IllegalArgumentException("block_out_channels " + blockOutChannels
                        + " must be positive multiples of norm_num_groups " + normNumGroups);
            }
        }
        int f = 1 << (blockOutChannels.size() - 1);
        int padded = latentSize * f;
        // Padding beyond one latent cell per side would spend the latent on border that is cropped away.
        if (padded < imageSize || padded - imageSize >= 2 * f) {
            throw new IllegalArgumentException("latent_size " + latentSize + " times the downsampling factor " + f
                    + " is " + padded + ": it must cover image_size " + imageSize + " with less than " + 2 * f
                    + " pixels of padding");
        }
    }

    /** The downsampling factor f = 2^(levels - 1). */
    public int factor() {
        return 1 << (blockOutChannels.size() - 1);
    }

    /** The side the encoder pads images to: latentSize * f. */
    public int paddedSize() {
        return latentSize * factor();
    }

    /** [C, H, W] of an image. */
    public long[] imageShape() {
        return new long[] {inChannels, imageSize, imageSize};
    }

    /** [latent channels, h, w] of a latent. */
    public long[] latentShape() {
        return new long[] {latentChannels, latentSize, latentSize};
    }

    /**
     * The defaults here: 4 latent channels, 8 GroupNorm groups, one resnet per level, and the smallest even latent
     * side that covers the image (28 -> 8 with f = 4), so the latent U-Net can downsample once.
     */
    public static AutoencoderConfig of(int imageSize, int inChannels, List<Integer> blockOutChannels, int latentChannels) {
        int f = 1 << (blockOutChannels.size() - 1);
        int side = (imageSize + f - 1) / f;
        side += side % 2;
        return new AutoencoderConfig(imageSize, inChannels, blockOutChannels, latentChannels, side, 1, 8);
    }

    /** A network initialised from {@code rng}. */
    public AutoencoderKL build(Rng rng) {
        return new AutoencoderKL(this, rng);
    }
}
