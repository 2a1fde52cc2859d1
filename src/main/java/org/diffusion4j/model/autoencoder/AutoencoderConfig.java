package org.diffusion4j.model.autoencoder;

import java.util.List;
import org.diffusion4j.model.ParameterShapes;
import org.diffusion4j.model.unet.Attention;
import org.diffusion4j.model.unet.ResnetBlock;
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
 * @param useQuantConv     the 1x1 convs after the encoder and before the decoder (diffusers' use_quant_conv and
 *                         use_post_quant_conv, which Stable Diffusion's VAEs have); null means true
 */
public record AutoencoderConfig(int imageSize, int inChannels, List<Integer> blockOutChannels, int latentChannels,
                                int latentSize, int layersPerBlock, int normNumGroups, Boolean useQuantConv) {
    /** The type recorded in checkpoints. */
    public static final String TYPE = "autoencoder_kl";

    public AutoencoderConfig {
        if (useQuantConv == null) {
            useQuantConv = true;
        }
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
        if (blockOutChannels.size() > 12 || layersPerBlock > 32 || inChannels > 1 << 12 || latentChannels > 1 << 12
                || imageSize > 1 << 14) {
            throw new IllegalArgumentException("autoencoder config beyond the limits (at most 12 levels, 32 layers "
                    + "per block, 4096 image or latent channels, image_size 16384)");
        }
        for (int c : blockOutChannels) {
            if (c > 1 << 15) {
                throw new IllegalArgumentException("block_out_channels entry " + c + " is more than the 32768 allowed");
            }
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

    /** With the quant convs. */
    public AutoencoderConfig(int imageSize, int inChannels, List<Integer> blockOutChannels, int latentChannels,
                             int latentSize, int layersPerBlock, int normNumGroups) {
        this(imageSize, inChannels, blockOutChannels, latentChannels, latentSize, layersPerBlock, normNumGroups, true);
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

    /** The parameters {@link #build} creates, by name and shape, computed without allocating them. */
    public ParameterShapes parameterShapes() {
        ParameterShapes p = new ParameterShapes();
        half(p, true);
        half(p, false);
        return useQuantConv ? p.conv("quant_conv", 2L * latentChannels, 2L * latentChannels, 1)
                .conv("post_quant_conv", latentChannels, latentChannels, 1) : p;
    }

    private void half(ParameterShapes p, boolean encoding) {
        String root = encoding ? "encoder." : "decoder.";
        List<Integer> ch = blockOutChannels;
        int n = ch.size();
        int top = ch.get(n - 1);
        p.conv(root + "conv_in", encoding ? inChannels : latentChannels, encoding ? ch.get(0) : top, 3);
        int out = encoding ? ch.get(0) : top;
        for (int i = 0; i < n; i++) {
            int in = out;
            out = encoding ? ch.get(i) : ch.get(n - 1 - i);
            String block = root + (encoding ? "down_blocks." : "up_blocks.") + i;
            int count = encoding ? layersPerBlock : layersPerBlock + 1;
            for (int j = 0; j < count; j++) {
                ResnetBlock.shapes(p, block + ".resnets." + j, j == 0 ? in : out, out, 0);
            }
            if (i < n - 1) {
                p.conv(block + (encoding ? ".downsamplers" : ".upsamplers") + ".0.conv", out, out, 3);
            }
        }
        ResnetBlock.shapes(p, root + "mid_block.resnets.0", top, top, 0);
        ResnetBlock.shapes(p, root + "mid_block.resnets.1", top, top, 0);
        Attention.shapes(p, root + "mid_block.attentions.0", top);
        int last = encoding ? top : ch.get(0);
        p.groupNorm(root + "conv_norm_out", last).conv(root + "conv_out", last,
                encoding ? 2 * latentChannels : inChannels, 3);
    }

    /** A network initialised from {@code rng}. */
    public AutoencoderKL build(Rng rng) {
        return new AutoencoderKL(this, rng);
    }
}
