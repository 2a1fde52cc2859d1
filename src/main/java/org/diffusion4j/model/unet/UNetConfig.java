package org.diffusion4j.model.unet;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.diffusion4j.model.Network;
import org.diffusion4j.model.NetworkConfig;
import org.diffusion4j.model.ParameterShapes;
import org.diffusion4j.tensor.Rng;

/**
 * diffusers' {@code UNet2DModel} config, with its field names (snake_case in JSON). Only what the architecture here
 * implements is representable; {@link DiffusersConfig} rejects the rest of a diffusers config.json by name.
 *
 * @param sampleSize        image height = width (diffusers {@code sample_size}); must survive every downsampling
 * @param inChannels        input channels (1 for MNIST)
 * @param outChannels       output channels
 * @param blockOutChannels  channels per resolution level, e.g. [32, 64, 64]
 * @param layersPerBlock    resnets per down block (up blocks get one more)
 * @param downBlockTypes    {@code DownBlock2D} or {@code AttnDownBlock2D} per level
 * @param upBlockTypes      {@code UpBlock2D} or {@code AttnUpBlock2D} per level, deepest first
 * @param normNumGroups     GroupNorm groups (32 in diffusers; 8 suits small models)
 * @param attentionHeadDim  channels per attention head; null means one head per block
 * @param flipSinToCos      time embedding: cos before sin (diffusers default true)
 * @param freqShift         time embedding frequency shift (default 0)
 * @param numClassEmbeds    number of classes for a class embedding added to the time embedding; null for none
 * @param normEps           GroupNorm epsilon (1e-5)
 * @param downsamplePadding the stride-2 convs' padding: 1 (diffusers default), or 0, where the input is first padded
 *                          by one row and column at the bottom right (the original DDPM checkpoints); null means 1
 */
public record UNetConfig(int sampleSize, int inChannels, int outChannels, List<Integer> blockOutChannels,
                         int layersPerBlock, List<String> downBlockTypes, List<String> upBlockTypes, int normNumGroups,
                         Integer attentionHeadDim, boolean flipSinToCos, int freqShift, Integer numClassEmbeds,
                         double normEps, Integer downsamplePadding) implements NetworkConfig {
    static final Set<String> DOWN = Set.of("DownBlock2D", "AttnDownBlock2D");
    static final Set<String> UP = Set.of("UpBlock2D", "AttnUpBlock2D");
    static final int MAX_LEVELS = 12;
    static final int MAX_LAYERS_PER_BLOCK = 32;
    static final int MAX_CHANNELS = 1 << 15;
    static final int MAX_SAMPLE_SIZE = 1 << 14;

    public UNetConfig {
        if (blockOutChannels == null || downBlockTypes == null || upBlockTypes == null) {
            throw new IllegalArgumentException("block_out_channels, down_block_types and up_block_types must be set");
        }
        blockOutChannels = List.copyOf(blockOutChannels);
        downBlockTypes = List.copyOf(downBlockTypes);
        upBlockTypes = List.copyOf(upBlockTypes);
        int levels = blockOutChannels.size();
        if (levels < 1) {
            throw new IllegalArgumentException("block_out_channels must not be empty");
        }
        if (downBlockTypes.size() != levels || upBlockTypes.size() != levels) {
            throw new IllegalArgumentException("down_block_types (" + downBlockTypes.size() + ") and up_block_types ("
                    + upBlockTypes.size() + ") must both have one entry per block_out_channels (" + levels + ")");
        }
        UNetConfig.requireBlockTypes(downBlockTypes, DOWN, upBlockTypes, UP);
        if (inChannels < 1 || outChannels < 1 || layersPerBlock < 1) {
            throw new IllegalArgumentException("in_channels, out_channels and layers_per_block must be >= 1");
        }
        // Far beyond any published UNet2DModel, and small enough that listing the parameters costs nothing.
        requireAtMost("block_out_channels has " + levels + " levels;", levels, MAX_LEVELS);
        requireAtMost("layers_per_block", layersPerBlock, MAX_LAYERS_PER_BLOCK);
        requireAtMost("in_channels", inChannels, MAX_CHANNELS);
        requireAtMost("out_channels", outChannels, MAX_CHANNELS);
        requireAtMost("sample_size", sampleSize, MAX_SAMPLE_SIZE);
        for (int c : blockOutChannels) {
            requireAtMost("block_out_channels entry", c, MAX_CHANNELS);
        }
        if (numClassEmbeds != null) {
            requireAtMost("num_class_embeds", numClassEmbeds, 1 << 20);
        }
        if (normNumGroups < 1) {
            throw new IllegalArgumentException("norm_num_groups must be >= 1, got " + normNumGroups);
        }
        // Before the divisibility checks below, which divide by it.
        if (attentionHeadDim != null && attentionHeadDim < 1) {
            throw new IllegalArgumentException("attention_head_dim must be >= 1, got " + attentionHeadDim);
        }
        for (int c : blockOutChannels) {
            if (c < 1 || c % normNumGroups != 0) {
                throw new IllegalArgumentException("block_out_channels " + blockOutChannels
                        + " must be positive multiples of norm_num_groups " + normNumGroups);
            }
            if (attentionHeadDim != null && c % attentionHeadDim != 0) {
                throw new IllegalArgumentException("attention_head_dim " + attentionHeadDim
                        + " must divide every block's channels " + blockOutChannels);
            }
        }
        if (numClassEmbeds != null && numClassEmbeds < 1) {
            throw new IllegalArgumentException("num_class_embeds must be >= 1 or null, got " + numClassEmbeds);
        }
        if (blockOutChannels.get(0) < 2 || blockOutChannels.get(0) / 2 - freqShift == 0) {
            throw new IllegalArgumentException("block_out_channels[0] = " + blockOutChannels.get(0)
                    + " is too small for the time embedding with freq_shift " + freqShift);
        }
        if (downsamplePadding == null) {
            downsamplePadding = 1;
        }
        if (downsamplePadding != 0 && downsamplePadding != 1) {
            throw new IllegalArgumentException("downsample_padding must be 0 or 1, got " + downsamplePadding);
        }
        if (!(normEps > 0)) {
            throw new IllegalArgumentException("norm_eps must be > 0, got " + normEps);
        }
        int divisor = 1 << (levels - 1);
        if (sampleSize < 1 || sampleSize % divisor != 0) {
            throw new IllegalArgumentException("sample_size " + sampleSize + " must be a positive multiple of "
                    + divisor + " to pass " + (levels - 1) + " downsamplings and come back to the same size");
        }
    }

    private static void requireAtMost(String what, int value, int max) {
        if (value > max) {
            throw new IllegalArgumentException(what + " " + value + " is more than the " + max + " allowed");
        }
    }

    @Override
    public String modelType() {
        return "unet";
    }

    @Override
    public long[] sampleShape() {
        return new long[] {inChannels, sampleSize, sampleSize};
    }

    @Override
    public Network build(Rng rng) {
        return new UNet2DModel(this, rng);
    }

    @Override
    public ParameterShapes parameterShapes() {
        ParameterShapes p = new ParameterShapes();
        List<Integer> ch = blockOutChannels;
        int levels = ch.size();
        int temb = timeEmbedDim();
        p.conv("conv_in", inChannels, ch.get(0), 3);
        p.linear("time_embedding.linear_1", ch.get(0), temb).linear("time_embedding.linear_2", temb, temb);
        if (numClassEmbeds != null) {
            p.add("class_embedding.weight", numClassEmbeds, temb);
        }
        int out = ch.get(0);
        for (int i = 0; i < levels; i++) {
            int in = out;
            out = ch.get(i);
            String block = "down_blocks." + i;
            for (int j = 0; j < layersPerBlock; j++) {
                ResnetBlock.shapes(p, block + ".resnets." + j, j == 0 ? in : out, out, temb);
                if (downBlockTypes.get(i).startsWith("Attn")) {
                    Attention.shapes(p, block + ".attentions." + j, out);
                }
            }
            if (i < levels - 1) {
                p.conv(block + ".downsamplers.0.conv", out, out, 3);
            }
        }
        int top = ch.get(levels - 1);
        ResnetBlock.shapes(p, "mid_block.resnets.0", top, top, temb);
        Attention.shapes(p, "mid_block.attentions.0", top);
        ResnetBlock.shapes(p, "mid_block.resnets.1", top, top, temb);
        out = top;
        for (int i = 0; i < levels; i++) {
            int prevOut = out;
            out = ch.get(levels - 1 - i);
            int in = ch.get(Math.max(levels - 2 - i, 0));
            String block = "up_blocks." + i;
            for (int j = 0; j <= layersPerBlock; j++) {
                int skip = j == layersPerBlock ? in : out;
                ResnetBlock.shapes(p, block + ".resnets." + j, (j == 0 ? prevOut : out) + skip, out, temb);
                if (upBlockTypes.get(i).startsWith("Attn")) {
                    Attention.shapes(p, block + ".attentions." + j, out);
                }
            }
            if (i < levels - 1) {
                p.conv(block + ".upsamplers.0.conv", out, out, 3);
            }
        }
        return p.groupNorm("conv_norm_out", ch.get(0)).conv("conv_out", ch.get(0), outChannels, 3);
    }

    /**
     * At the top up block the concatenated input, its normalisation and the skips still waiting are live together:
     * at least four full-resolution maps of block_out_channels[0] channels.
     */
    @Override
    public long activationBytesPerSample() {
        return 4L * blockOutChannels.get(0) * sampleSize * sampleSize * Float.BYTES;
    }

    /** The time embedding width, 4 x block_out_channels[0] as in diffusers. */
    /** Refuses a block type outside {@code down} / {@code up}, naming it and the supported ones. */
    static void requireBlockTypes(List<String> downTypes, Set<String> down, List<String> upTypes, Set<String> up) {
        for (String t : downTypes) {
            if (!down.contains(t)) {
                throw new IllegalArgumentException("unsupported down block type '" + t + "'; supported: " + down);
            }
        }
        for (String t : upTypes) {
            if (!up.contains(t)) {
                throw new IllegalArgumentException("unsupported up block type '" + t + "'; supported: " + up);
            }
        }
    }

    public int timeEmbedDim() {
        return blockOutChannels.get(0) * 4;
    }

    /** Heads for a block of {@code channels}: channels / attention_head_dim, or 1 when unset. */
    int heads(int channels) {
        return attentionHeadDim == null ? 1 : channels / attentionHeadDim;
    }

    /**
     * One resnet per level, attention at every level below the top resolution (where it is affordable), one head
     * per block, 8 GroupNorm groups: the layout of the CPU-sized models here.
     */
    public static UNetConfig attentionBelowTop(int sampleSize, int channels, List<Integer> blockOutChannels,
                                               Integer numClassEmbeds) {
        List<String> down = new ArrayList<>();
        List<String> up = new ArrayList<>();
        for (int i = 0; i < blockOutChannels.size(); i++) {
            down.add(i == 0 ? "DownBlock2D" : "AttnDownBlock2D");
            up.add(i == blockOutChannels.size() - 1 ? "UpBlock2D" : "AttnUpBlock2D");
        }
        return new UNetConfig(sampleSize, channels, channels, blockOutChannels, 1, down, up, 8, null, true, 0,
                numClassEmbeds, 1e-5, 1);
    }

    /** {@link #attentionBelowTop} with channels [32, 64, 64] and 32-channel heads: about 1.2 M parameters. */
    public static UNetConfig small(int sampleSize, int channels, Integer numClassEmbeds) {
        UNetConfig c = attentionBelowTop(sampleSize, channels, List.of(32, 64, 64), numClassEmbeds);
        return new UNetConfig(c.sampleSize, c.inChannels, c.outChannels, c.blockOutChannels, c.layersPerBlock,
                c.downBlockTypes, c.upBlockTypes, c.normNumGroups, 32, c.flipSinToCos, c.freqShift, c.numClassEmbeds,
                c.normEps, c.downsamplePadding);
    }
}
