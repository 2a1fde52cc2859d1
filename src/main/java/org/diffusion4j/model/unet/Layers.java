package org.diffusion4j.model.unet;

import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.global.torch;
import org.diffusion4j.tensor.Scopes;

/**
 * The U-Net's (and the autoencoder's) leaf layers as modules that own "weight" and "bias" parameters, so parameter names follow diffusers'
 * state dict exactly (e.g. {@code down_blocks.0.resnets.0.conv1.weight}). Initial values are placeholders; the
 * network re-initialises them from an explicit generator.
 */
public final class Layers {
    private Layers() {}

    /**
     * Base of every U-Net module: registers child containers (like nn.ModuleList) and keeps them strongly reachable.
     * A Java-allocated Module calls back into its Java object for virtual methods such as train(bool); once the GC
     * has collected an unreferenced container, that callback throws NullPointerException from native code.
     */
    public abstract static class Node extends Module {
        private final java.util.List<Module> containers = new java.util.ArrayList<>();

        /** Registers an empty child module {@code name} under {@code parent} and keeps it alive with this node. */
        protected Module container(Module parent, String name) {
            Module c = parent.register_module(name, Scopes.detach(new Module()));
            containers.add(c);
            return c;
        }
    }

    /** An owning handle to a registered parameter (register_parameter returns a reference into the module's dict). */
    static Tensor param(Module m, String name, Tensor init) {
        return Scopes.detach(new Tensor(m.register_parameter(name, init)));
    }

    /** nn.Conv2d with square kernel, "same"-style padding and optional stride. */
    public static final class Conv2d extends Node {
        private final Tensor weight;
        private final Tensor bias;
        private final long[] stride;
        private final long[] padding;

        public Conv2d(int in, int out, int kernel, int stride, int padding) {
            weight = param(this, "weight", torch.zeros(out, in, kernel, kernel));
            bias = param(this, "bias", torch.zeros(out));
            this.stride = new long[] {stride, stride};
            this.padding = new long[] {padding, padding};
        }

        public Tensor forward(Tensor x) {
            return torch.conv2d(x, weight, new TensorOptional(bias), stride, padding, new long[] {1, 1}, 1);
        }
    }

    /** nn.Linear. */
    public static final class Linear extends Node {
        private final Tensor weight;
        private final Tensor bias;

        public Linear(int in, int out) {
            weight = param(this, "weight", torch.zeros(out, in));
            bias = param(this, "bias", torch.zeros(out));
        }

        public Tensor forward(Tensor x) {
            return torch.linear(x, weight, new TensorOptional(bias));
        }
    }

    /** nn.GroupNorm with affine parameters (ones and zeros). */
    public static final class GroupNorm extends Node {
        private final Tensor weight;
        private final Tensor bias;
        private final int groups;
        private final double eps;

        public GroupNorm(int groups, int channels, double eps) {
            if (channels % groups != 0) {
                throw new IllegalArgumentException("GroupNorm: " + channels + " channels are not divisible into "
                        + groups + " groups");
            }
            weight = param(this, "weight", torch.ones(channels));
            bias = param(this, "bias", torch.zeros(channels));
            this.groups = groups;
            this.eps = eps;
        }

        /** [B, C, ...] -> the same shape and memory format. */
        public Tensor forward(Tensor x) {
            if (slowChannelsLast(x)) {
                return torch.group_norm(x.contiguous(), groups, new TensorOptional(weight), new TensorOptional(bias),
                        eps, true).contiguous(torch.MemoryFormat.ChannelsLast);
            }
            return torch.group_norm(x, groups, new TensorOptional(weight), new TensorOptional(bias), eps, true);
        }

        /**
         * Whether x is channels-last with groups that do not fill whole 32-byte vectors: libtorch's channels-last
         * kernel vectorises over a group's channels, and such groups ran 3-15x slower there, forward and backward,
         * than the NCHW kernel plus two layout copies (measured at 2, 4 and 8 bf16 channels per group). The small
         * U-Nets here have 2-6 channels per group.
         */
        boolean slowChannelsLast(Tensor x) {
            return x.dim() == 4 && x.size(1) / groups * x.element_size() % 32 != 0 && !x.is_contiguous()
                    && x.is_contiguous(torch.MemoryFormat.ChannelsLast);
        }
    }

    /** nn.Embedding (initialised N(0, 1) by the network). */
    static final class Embedding extends Node {
        private final Tensor weight;

        Embedding(int count, int dim) {
            weight = param(this, "weight", torch.zeros(count, dim));
        }

        Tensor forward(Tensor indices) {
            return torch.embedding(weight, indices);
        }

        Tensor weight() {
            return weight;
        }
    }

    /** Nearest-neighbour 2x upsampling (F.interpolate(scale_factor=2, mode="nearest")). */
    public static Tensor upsampleNearest2x(Tensor x) {
        // The long... overload: a LongArrayRefOptional built from Java longs points at freed memory.
        return torch.upsample_nearest2d(x, x.size(2) * 2, x.size(3) * 2);
    }
}
