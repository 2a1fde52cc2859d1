package org.diffusion4j.guidance;

import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.diffusion4j.model.ConditionalDenoiser;
import org.diffusion4j.model.Denoiser;
import org.diffusion4j.schedule.NoiseLevel;
import org.diffusion4j.model.Prediction;
import org.diffusion4j.tensor.DeviceSpec;
import org.diffusion4j.tensor.Shapes;
import org.diffusion4j.tensor.Tensors;

/**
 * Classifier-free guidance (Ho &amp; Salimans 2022) as a denoiser: with the conditional prediction c and the
 * unconditional one u (the model's "no class" label), it answers u + w (c - u). w = 1 is plain conditional
 * sampling, w &gt; 1 strengthens the class, w = 0 ignores it. Both predictions come from one batched forward pass
 * of [x; x] with [labels; no class]. Because x0 and eps are affine in the network output at fixed x, guiding either
 * (or the raw output) is the same, so this works with every parameterisation and every sampler.
 */
public final class ClassifierFreeGuidance implements Denoiser {
    private final ConditionalDenoiser model;
    private final long label;
    private final Tensor rowLabels;
    private final long nullLabel;
    private final Guidance guidance;
    private final int guidedChannels;

    /**
     * @param model     a class-conditional denoiser trained with label dropout
     * @param label     the class every row is guided towards
     * @param nullLabel the model's "no class" label
     * @param scale     the guidance weight w (1 = no guidance)
     */
    public ClassifierFreeGuidance(ConditionalDenoiser model, long label, long nullLabel, double scale) {
        this(model, label, nullLabel, Guidance.of(scale));
    }

    /** As above, with guidance rescale and a guidance interval. */
    public ClassifierFreeGuidance(ConditionalDenoiser model, long label, long nullLabel, Guidance guidance) {
        if (label < 0 || label >= nullLabel) {
            throw new IllegalArgumentException("class " + label + " is not a class of this model (0 to "
                    + (nullLabel - 1) + ")");
        }
        this.model = model;
        this.label = label;
        this.rowLabels = null;
        this.nullLabel = nullLabel;
        this.guidance = guidance;
        this.guidedChannels = 0;
    }

    /**
     * Guidance towards a class per row, as diffusers' DiTPipeline: every batch passed to {@link #predict} must have
     * as many rows as {@code labels}.
     *
     * @param labels         int64 [B], each in [0, nullLabel)
     * @param guidedChannels 0 guides every channel (diffusers); k &gt; 0 only channels [0, k), the rest keep the
     *                       conditional prediction (the original DiT code's forward_with_cfg guides 3 of 4 latent
     *                       channels)
     */
    public ClassifierFreeGuidance(ConditionalDenoiser model, Tensor labels, long nullLabel, Guidance guidance,
                                  int guidedChannels) {
        Shapes.require(labels, "class labels", Shapes.ANY);
        if (labels.numel() > 0 && (labels.min().item_long() < 0 || labels.max().item_long() >= nullLabel)) {
            throw new IllegalArgumentException("class labels must be classes of this model (0 to " + (nullLabel - 1)
                    + ")");
        }
        if (guidedChannels < 0) {
            throw new IllegalArgumentException("guided channels must be >= 0 (0 = all), got " + guidedChannels);
        }
        this.model = model;
        this.label = -1;
        this.rowLabels = labels;
        this.nullLabel = nullLabel;
        this.guidance = guidance;
        this.guidedChannels = guidedChannels;
    }

    /** Unguided sampling of the model's unconditional distribution (every row gets "no class"). */
    public static Denoiser unconditional(ConditionalDenoiser model, long nullLabel) {
        return new Denoiser() {
            @Override
            public Prediction predict(Tensor x, NoiseLevel level) {
                return model.predict(x, level, labels(x, nullLabel));
            }

            @Override
            public DeviceSpec device() {
                return model.device();
            }
        };
    }

    @Override
    public DeviceSpec device() {
        return model.device();
    }

    @Override
    public Prediction predict(Tensor x, NoiseLevel level) {
        Shapes.requireRankAtLeast(x, "x", 2);
        long b = x.size(0);
        Tensor conditional = conditionalLabels(x);
        if (guidance.scale() == 1 || !guidance.activeAt(level.alpha(), level.sigma())) {
            return model.predict(x, level, conditional);
        }
        Tensor both = torch.cat(new TensorVector(x, x));
        Tensor l = torch.cat(new TensorVector(conditional, labels(x, nullLabel)));
        Prediction p = model.predict(both, level, l);
        Tensor x0 = guide(p.x0(), b);
        Tensor eps = guide(p.eps(), b);
        if (guidance.rescale() > 0) {
            // Lin et al. 2024, eq. 15-16: match the conditional prediction's per-sample std, then mix.
            Tensor cond = p.x0().narrow(0, 0, b);
            Tensor ratio = std(cond).div(std(x0).clamp_min(Tensors.scalar(1e-12)));
            Tensor rescaled = x0.mul(ratio);
            x0 = rescaled.mul(Tensors.scalar(guidance.rescale())).add(x0.mul(Tensors.scalar(1 - guidance.rescale())));
            if (level.sigma() > 0) {
                // Keep the pair consistent: x = alpha x0 + sigma eps.
                eps = x.sub(x0.mul(Tensors.scalar(level.alpha()))).div(Tensors.scalar(level.sigma()));
            }
        }
        return new Prediction(x0, eps, p.variance() == null ? null : p.variance().narrow(0, 0, b));
    }

    private Tensor conditionalLabels(Tensor x) {
        if (rowLabels == null) {
            return labels(x, label);
        }
        if (rowLabels.size(0) != x.size(0)) {
            throw new IllegalArgumentException(rowLabels.size(0) + " class labels for a batch of " + x.size(0));
        }
        return rowLabels.to(x.device(), torch.ScalarType.Long);
    }

    /** u + w (c - u) from the stacked [c; u]; on the first {@link #guidedChannels} channels only, when set. */
    private Tensor guide(Tensor stacked, long b) {
        Tensor c = stacked.narrow(0, 0, b);
        Tensor u = stacked.narrow(0, b, b);
        Tensor guided = u.add(c.sub(u).mul(Tensors.scalar(guidance.scale())));
        if (guidedChannels == 0 || guidedChannels >= c.size(1)) {
            return guided;
        }
        return torch.cat(new TensorVector(guided.narrow(1, 0, guidedChannels),
                c.narrow(1, guidedChannels, c.size(1) - guidedChannels)), 1);
    }

    /** Per-sample standard deviation over all but the batch dimension, shaped [B, 1, ...] to broadcast. */
    private static Tensor std(Tensor t) {
        long[] dims = new long[(int) t.dim() - 1];
        for (int i = 0; i < dims.length; i++) {
            dims[i] = i + 1;
        }
        return torch.std(t, dims, false, true);
    }

    /** [B] labels {@code value} for the rows of x, on x's device. */
    private static Tensor labels(Tensor x, long value) {
        return torch.full(new long[] {x.size(0)}, Tensors.scalar(value),
                DeviceSpec.optionsLike(x, torch.ScalarType.Long));
    }
}
