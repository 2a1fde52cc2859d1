package org.diffusion4j.model.unet;

import java.util.ArrayList;
import java.util.List;
import java.util.function.IntFunction;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Tensor;

/**
 * The down path, mid block and up path both diffusers U-Nets share (registered as down_blocks, mid_block and
 * up_blocks), and their pass with skip connections.
 *
 * @param down per level, finest first
 * @param up   per level, coarsest first
 */
record Levels(List<DownBlock> down, MidBlock mid, List<UpBlock> up) {
    /**
     * Registers the blocks under {@code owner}.
     *
     * @param downShape level i's down block (i = 0 finest)
     * @param upShape   up block i (i = 0 coarsest)
     */
    static Levels register(Layers.Node owner, List<Integer> ch, IntFunction<BlockShape> downShape, BlockShape midShape,
                           IntFunction<BlockShape> upShape) {
        int levels = ch.size();
        List<DownBlock> down = new ArrayList<>();
        Module downs = owner.container(owner, "down_blocks");
        int out = ch.get(0);
        for (int i = 0; i < levels; i++) {
            int in = out;
            out = ch.get(i);
            down.add(downs.register_module(Integer.toString(i), new DownBlock(downShape.apply(i), in, out,
                    i < levels - 1)));
        }
        MidBlock mid = owner.register_module("mid_block", new MidBlock(midShape, ch.get(levels - 1)));
        List<UpBlock> up = new ArrayList<>();
        Module ups = owner.container(owner, "up_blocks");
        out = ch.get(levels - 1);
        for (int i = 0; i < levels; i++) {
            int prevOut = out;
            out = ch.get(levels - 1 - i);
            int in = ch.get(Math.max(levels - 2 - i, 0));
            up.add(ups.register_module(Integer.toString(i), new UpBlock(upShape.apply(i), in, out, prevOut,
                    i < levels - 1)));
        }
        return new Levels(List.copyOf(down), mid, List.copyOf(up));
    }

    /** Checks that x's height and width survive every downsampling of {@code levels} levels. */
    static void requireDivisible(Tensor x, int levels) {
        int divisor = 1 << (levels - 1);
        if (x.size(2) % divisor != 0 || x.size(3) % divisor != 0) {
            throw new IllegalArgumentException("x: spatial size " + x.size(2) + "x" + x.size(3)
                    + " must be divisible by " + divisor + " for " + levels + " levels");
        }
    }

    /**
     * @param h       conv_in's output
     * @param context what cross-attention attends to, or null
     * @return the last up block's output
     */
    Tensor forward(Tensor h, Tensor emb, Tensor context) {
        List<Tensor> skips = new ArrayList<>();
        skips.add(h);
        for (DownBlock b : down) {
            h = b.forward(h, emb, context, skips);
        }
        h = mid.forward(h, emb, context);
        for (UpBlock b : up) {
            h = b.forward(h, emb, context, skips);
        }
        return h;
    }
}
