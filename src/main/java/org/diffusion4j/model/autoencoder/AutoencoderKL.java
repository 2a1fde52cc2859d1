package org.diffusion4j.model.autoencoder;

import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.ScalarOptional;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.diffusion4j.model.Init;
import org.diffusion4j.model.unet.Attention;
import org.diffusion4j.model.unet.Layers;
import org.diffusion4j.model.unet.ResnetBlock;
import org.diffusion4j.tensor.Rng;
import org.diffusion4j.tensor.Scopes;
import org.diffusion4j.tensor.Shapes;
import org.diffusion4j.tensor.Tensors;
import org.diffusion4j.tensor.Torch;

/**
 * The first stage of latent diffusion (Rombach et al. 2022): an encoder to a diagonal Gaussian over latents and a
 * decoder back to images. The layout and parameter names follow diffusers' AutoencoderKL (encoder / decoder with
 * down_blocks, mid_block, up_blocks; quant_conv and post_quant_conv), built from the U-Net's blocks without time
 * embeddings.
 */
public final class AutoencoderKL extends Layers.Node {
    /** GroupNorm epsilon of diffusers' VAE blocks. */
    private static final double EPS = 1e-6;

    private final AutoencoderConfig config;
    private final Half encoder;
    private final Half decoder;
    private final Layers.Conv2d quantConv;
    private final Layers.Conv2d postQuantConv;

    /** The encoder's output: the posterior N(mean, exp(logvar)) per latent element, each [B, latent, h, w]. */
    public record Posterior(Tensor mean, Tensor logvar) {
        /** exp(logvar / 2). */
        public Tensor std() {
            return torch.exp(logvar.mul(Tensors.scalar(0.5)));
        }

        /** A reparameterised draw mean + std * eps. */
        public Tensor sample(Rng rng) {
            return mean.add(std().mul(rng.randn(mean.sizes().vec().get())));
        }

        /**
         * KL(q || N(0, I)) summed over each sample's latent elements: [B].
         */
        public Tensor kl() {
            Tensor perElement = mean.square().add(torch.exp(logvar)).sub(Tensors.scalar(1))
                    .sub(logvar).mul(Tensors.scalar(0.5));
            return perElement.flatten(1, -1).sum(new long[] {1}, false, new ScalarTypeOptional());
        }
    }

    public AutoencoderKL(AutoencoderConfig config, Rng rng) {
        Torch.init();
        this.config = config;
        int latent = config.latentChannels();
        encoder = register_module("encoder", new Half(config, true));
        decoder = register_module("decoder", new Half(config, false));
        quantConv = config.useQuantConv()
                ? register_module("quant_conv", new Layers.Conv2d(2 * latent, 2 * latent, 1, 1, 0)) : null;
        postQuantConv = config.useQuantConv()
                ? register_module("post_quant_conv", new Layers.Conv2d(latent, latent, 1, 1, 0)) : null;
        Init.pytorchDefault(this, rng);
        Scopes.detach(this);
    }

    public AutoencoderConfig config() {
        return config;
    }

    /**
     * @param x images in [-1, 1], [B, in_channels, image_size, image_size]; any [B, in_channels, H, W] with sides
     *          that are multiples of the factor when images are not padded
     * @return the posterior over latents [B, latent_channels, latent_size, latent_size] (or [B, latent, H/f, W/f])
     */
    public Posterior encode(Tensor x) {
        int size = config.imageSize();
        int pad = config.paddedSize() - size;
        Shapes.require(x, "images", Shapes.ANY, config.inChannels(), pad > 0 ? size : Shapes.ANY,
                pad > 0 ? size : Shapes.ANY);
        if (x.size(2) % config.factor() != 0 || x.size(3) % config.factor() != 0) {
            throw new IllegalArgumentException("image sides must be multiples of the autoencoder's factor "
                    + config.factor() + ", got " + x.size(3) + "x" + x.size(2));
        }
        Tensor h = x;
        if (pad > 0) {
            long before = pad / 2;
            h = torch.replication_pad2d(x, new long[] {before, pad - before, before, pad - before});
        }
        Tensor moments = encoder.forward(h);
        if (quantConv != null) {
            moments = quantConv.forward(moments);
        }
        long c = config.latentChannels();
        // diffusers clamps the log-variance to [-30, 20] so exp() stays finite early in training.
        return new Posterior(moments.narrow(1, 0, c), torch.clamp(moments.narrow(1, c, c),
                new ScalarOptional(Tensors.scalar(-30)), new ScalarOptional(Tensors.scalar(20))));
    }

    /**
     * @param z latents [B, latent_channels, latent_size, latent_size]; any [B, latent_channels, h, w] when images are
     *          not padded (diffusers' VAEs are fully convolutional: SD decodes 64x64 and 96x64 latents alike)
     * @return images [B, in_channels, image_size, image_size], or [B, in_channels, f h, f w] (unclamped; the data
     *         range is [-1, 1])
     */
    public Tensor decode(Tensor z) {
        boolean padded = config.paddedSize() != config.imageSize();
        Shapes.require(z, "latents", Shapes.ANY, config.latentChannels(), padded ? config.latentSize() : Shapes.ANY,
                padded ? config.latentSize() : Shapes.ANY);
        Tensor h = decoder.forward(postQuantConv == null ? z : postQuantConv.forward(z));
        int pad = config.paddedSize() - config.imageSize();
        if (pad > 0) {
            long before = pad / 2;
            h = h.narrow(2, before, config.imageSize()).narrow(3, before, config.imageSize());
        }
        return h;
    }

    /** The encoder (images -> 2 x latent channels) or the decoder (latents -> images). */
    private static final class Half extends Layers.Node {
        private final boolean encoding;
        private final Layers.Conv2d convIn;
        private final List<List<ResnetBlock>> levels = new ArrayList<>();
        private final List<Layers.Conv2d> resamplers = new ArrayList<>();
        private final ResnetBlock mid1;
        private final Attention midAttention;
        private final ResnetBlock mid2;
        private final Layers.GroupNorm normOut;
        private final Layers.Conv2d convOut;

        Half(AutoencoderConfig c, boolean encoding) {
            this.encoding = encoding;
            List<Integer> ch = c.blockOutChannels();
            int n = ch.size();
            int g = c.normNumGroups();
            int top = ch.get(n - 1);
            convIn = register_module("conv_in", encoding ? new Layers.Conv2d(c.inChannels(), ch.get(0), 3, 1, 1)
                    : new Layers.Conv2d(c.latentChannels(), top, 3, 1, 1));
            Module blocks = container(this, encoding ? "down_blocks" : "up_blocks");
            int out = encoding ? ch.get(0) : top;
            for (int i = 0; i < n; i++) {
                int in = out;
                out = encoding ? ch.get(i) : ch.get(n - 1 - i);
                Module block = container(blocks, Integer.toString(i));
                Module resnets = container(block, "resnets");
                List<ResnetBlock> level = new ArrayList<>();
                int count = encoding ? c.layersPerBlock() : c.layersPerBlock() + 1;
                for (int j = 0; j < count; j++) {
                    level.add(resnets.register_module(Integer.toString(j),
                            new ResnetBlock(j == 0 ? in : out, out, 0, g, EPS)));
                }
                levels.add(level);
                if (i < n - 1) {
                    Module op = container(container(block, encoding ? "downsamplers" : "upsamplers"), "0");
                    // diffusers' encoder downsamples with padding 0 after padding one row and column bottom-right.
                    resamplers.add(op.register_module("conv", new Layers.Conv2d(out, out, 3, encoding ? 2 : 1,
                            encoding ? 0 : 1)));
                }
            }
            Module mid = container(this, "mid_block");
            Module midResnets = container(mid, "resnets");
            mid1 = midResnets.register_module("0", new ResnetBlock(top, top, 0, g, EPS));
            mid2 = midResnets.register_module("1", new ResnetBlock(top, top, 0, g, EPS));
            midAttention = container(mid, "attentions").register_module("0", new Attention(top, 1, g, EPS));
            int last = encoding ? top : ch.get(0);
            normOut = register_module("conv_norm_out", new Layers.GroupNorm(g, last, EPS));
            convOut = register_module("conv_out", new Layers.Conv2d(last, encoding ? 2 * c.latentChannels()
                    : c.inChannels(), 3, 1, 1));
        }

        Tensor forward(Tensor x) {
            Tensor h = convIn.forward(x);
            if (!encoding) {
                h = mid(h);
            }
            for (int i = 0; i < levels.size(); i++) {
                for (ResnetBlock r : levels.get(i)) {
                    h = r.forward(h, null);
                }
                if (i < resamplers.size()) {
                    h = encoding ? resamplers.get(i).forward(torch.constant_pad_nd(h, new long[] {0, 1, 0, 1},
                            Tensors.scalar(0)))
                            : resamplers.get(i).forward(Layers.upsampleNearest2x(h));
                }
            }
            if (encoding) {
                h = mid(h);
            }
            return convOut.forward(torch.silu(normOut.forward(h)));
        }

        private Tensor mid(Tensor h) {
            return mid2.forward(midAttention.forward(mid1.forward(h, null)), null);
        }
    }
}
