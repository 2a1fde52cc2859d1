package org.diffusion4j.model.unet;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.GradMode;
import org.bytedeco.pytorch.LongArrayRefOptional;
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
        private final List<Module> containers = new ArrayList<>();

        /** Registers an empty child module {@code name} under {@code parent} and keeps it alive with this node. */
        protected Module container(Module parent, String name) {
            Module c = parent.register_module(name, Scopes.detach(new Module()));
            containers.add(c);
            return c;
        }
    }

    /** An owning handle to a registered parameter (register_parameter returns a reference into the module's dict). */
    public static Tensor param(Module m, String name, Tensor init) {
        return Scopes.detach(new Tensor(m.register_parameter(name, init)));
    }

    /**
     * nn.Conv2d with square kernel, "same"-style padding and optional stride.
     *
     * <p>libtorch 2.10's oneDNN (3.7.1) computes some convolutions wrongly on some CPUs: on the AMD Zen 5 machines of
     * this project's kind, called directly with valid inputs, its backward-data kernels summed one of nine kernel taps
     * on one thread and, on two, read memory they never wrote (NaN gradients, different results for one seed). Every
     * wrong case had a channel count that is not a multiple of {@value #CHANNEL_BLOCK}, or NCHW input; channels-last
     * convolutions whose channel counts are multiples of it matched a float64 reference in every case tried (see
     * docs/determinism.md). So this layer only runs that shape: it computes in channels-last with the input and
     * output channels zero-padded up to a multiple of the block (the padded weights are zero, so the output and the
     * real weights' gradients are unchanged) and drops the padded output channels. {@code LayersTest} checks it
     * against float64 for the channel counts the models here use.
     */
    public static final class Conv2d extends Node {
        /** The channel multiple oneDNN sees: its widest channel block on x86 (16 float32 lanes of AVX-512). */
        static final int CHANNEL_BLOCK = 16;

        private final Tensor weight;
        private final Tensor bias;
        private final long[] stride;
        private final long[] padding;
        private final long inPad;
        private final long outPad;
        private Tensor packed;
        private long packedVersion = -1;
        private torch.ScalarType packedType;

        public Conv2d(int in, int out, int kernel, int stride, int padding) {
            weight = param(this, "weight", torch.zeros(out, in, kernel, kernel));
            bias = param(this, "bias", torch.zeros(out));
            this.stride = new long[] {stride, stride};
            this.padding = new long[] {padding, padding};
            this.inPad = roundUp(in) - in;
            this.outPad = roundUp(out) - out;
        }

        /**
         * [B, in, H, W] in any layout -> [B, out, H', W']: channels-last, or NCHW from {@link #inference} when {@link
         * #packs}.
         */
        public Tensor forward(Tensor x) {
            // Packing pays when the weight outweighs the activation: a per-call reorder of SD's 1280-channel weights
            // cost 100x the convolution, while the small U-Nets' convolutions ran 5-10% faster unpacked in
            // channels-last (the packed path reorders the activation in and out instead).
            if (packs(x)) {
                return inference(x);
            }
            Tensor input = inPad == 0 ? x : torch.constant_pad_nd(x, 0, 0, 0, 0, 0, inPad);
            Tensor w = weight;
            Tensor b = bias;
            if (inPad > 0 || outPad > 0) {
                w = torch.constant_pad_nd(weight, 0, 0, 0, 0, 0, inPad, 0, outPad);
                b = outPad == 0 ? bias : torch.constant_pad_nd(bias, 0, outPad);
            }
            Tensor y = torch.conv2d(channelsLast(input), w, new TensorOptional(b), stride, padding,
                    new long[] {1, 1}, 1);
            return outPad == 0 ? y : channelsLast(y.narrow(1, 0, y.size(1) - outPad));
        }

        /** Whether x goes through the packed weight: inference on whole channel blocks, the weight outweighing x. */
        boolean packs(Tensor x) {
            return inPad == 0 && outPad == 0 && noGradEval(this, x) && weight.numel() >= x.numel();
        }

        /**
         * The convolution with the weight kept in oneDNN's blocked layout between calls. Otherwise every call reorders
         * the whole weight first: for SD's 1280-channel 3x3 convolutions (59 MB each) that took 190 ms of a 2 ms
         * convolution at the U-Net's lowest level, most of a 64x64 step. The packed copy is remade when the weight
         * changes (its version counter) or the precision does (bf16 under autocast). Only whole channel blocks come
         * here, the shapes {@code LayersTest} checks against float64.
         */
        private Tensor inference(Tensor x) {
            int bfloat = torch.ScalarType.BFloat16.value;
            boolean bf16 = x.scalar_type().value == bfloat || (torch.is_autocast_enabled(torch.DeviceType.CPU)
                    && torch.get_autocast_dtype(torch.DeviceType.CPU).value == bfloat);
            torch.ScalarType type = bf16 ? torch.ScalarType.BFloat16 : torch.ScalarType.Float;
            long version = weight.__dispatch__version();
            synchronized (this) {
                if (packed == null || packedVersion != version || packedType.value != type.value) {
                    Tensor fresh;
                    try (PointerScope scope = new PointerScope()) {
                        fresh = Scopes.detach(torch.mkldnn_reorder_conv2d_weight(weight.to(type).to_mkldnn(),
                                padding, stride, new long[] {1, 1}, 1, new LongArrayRefOptional()));
                    }
                    if (packed != null) {
                        packed.releaseReference();
                    }
                    packed = fresh;
                    packedVersion = version;
                    packedType = type;
                }
                return torch.mkldnn_convolution(x.to(type).contiguous().to_mkldnn(), packed,
                        new TensorOptional(bias.to(type)), padding, stride, new long[] {1, 1}, 1).to_dense();
            }
        }

        private static long roundUp(int channels) {
            return (channels + CHANNEL_BLOCK - 1) / CHANNEL_BLOCK * (long) CHANNEL_BLOCK;
        }
    }

    /** Whether {@code m} runs in eval mode, on CPU, with no gradient recorded: where the inference paths apply. */
    static boolean noGradEval(Module m, Tensor x) {
        return !GradMode.is_enabled() && !m.is_training() && x.is_cpu();
    }

    /**
     * x [B, C, H, W] with channels-last strides (C, 1, W C, C) x H W ..., copied if it has others. Unlike {@code
     * contiguous(ChannelsLast)}, also for C = 1, where NCHW strides count as channels-last contiguous too.
     */
    public static Tensor channelsLast(Tensor x) {
        long c = x.size(1);
        long w = x.size(3);
        long[] want = {c * x.size(2) * w, 1, w * c, c};
        long[] have = x.strides().vec().get();
        if (Arrays.equals(have, want)) {
            return x;
        }
        return torch.empty_strided(x.sizes().vec().get(), want, x.options()).copy_(x);
    }

    /** nn.Linear. */
    public static final class Linear extends Node {
        private final Tensor weight;
        private final Tensor bias;
        private final int in;
        private final int out;

        public Linear(int in, int out) {
            weight = param(this, "weight", torch.zeros(out, in));
            bias = param(this, "bias", torch.zeros(out));
            this.in = in;
            this.out = out;
        }

        /** [..., in] -> [..., out]. */
        public Tensor forward(Tensor x) {
            return torch.linear(x, weight, new TensorOptional(bias));
        }

        /**
         * Whether {@link #pointwise} may take x: eval mode without gradients, and whole channel blocks (the oneDNN
         * shapes {@link Conv2d} trusts).
         */
        public boolean pointwiseReady(Tensor x) {
            return in % Conv2d.CHANNEL_BLOCK == 0 && out % Conv2d.CHANNEL_BLOCK == 0 && noGradEval(this, x);
        }

        /**
         * [B, in, H, W] -> [B, out, H, W] channels-last: this layer at every pixel, as a 1x1 convolution. OpenBLAS
         * runs {@link #forward} on one thread (see Torch); oneDNN uses every core. Only when {@link #pointwiseReady}.
         */
        public Tensor pointwise(Tensor x) {
            if (!pointwiseReady(x)) {
                throw new IllegalStateException("pointwise projection needs eval mode, no gradient and channels in "
                        + "multiples of " + Conv2d.CHANNEL_BLOCK + " (" + in + " -> " + out + ")");
            }
            return torch.conv2d(channelsLast(x), weight.view(out, in, 1, 1), new TensorOptional(bias),
                    new long[] {1, 1}, new long[] {0, 0}, new long[] {1, 1}, 1);
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
