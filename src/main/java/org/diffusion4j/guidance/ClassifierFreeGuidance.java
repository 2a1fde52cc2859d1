package org.diffusion4j.guidance;

import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.diffusion4j.model.ConditionalDenoiser;
import org.diffusion4j.model.Denoiser;
import org.diffusion4j.model.NoiseLevel;
import org.diffusion4j.model.Prediction;
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
    private final long nullLabel;
    private final double scale;

    /**
     * @param model     a class-conditional denoiser trained with label dropout
     * @param label     the class every row is guided towards
     * @param nullLabel the model's "no class" label
     * @param scale     the guidance weight w (1 = no guidance)
     */
    public ClassifierFreeGuidance(ConditionalDenoiser model, long label, long nullLabel, double scale) {
        if (!Double.isFinite(scale) || scale < 0) {
            throw new IllegalArgumentException("guidance scale must be finite and >= 0, got " + scale);
        }
        if (label < 0 || label >= nullLabel) {
            throw new IllegalArgumentException("class " + label + " is not a class of this model (0 to "
                    + (nullLabel - 1) + ")");
        }
        this.model = model;
        this.label = label;
        this.nullLabel = nullLabel;
        this.scale = scale;
    }

    /** Unguided sampling of the model's unconditional distribution (every row gets "no class"). */
    public static Denoiser unconditional(ConditionalDenoiser model, long nullLabel) {
        return (x, level) -> model.predict(x, level, labels(x.size(0), nullLabel));
    }

    @Override
    public Prediction predict(Tensor x, NoiseLevel level) {
        Shapes.requireRankAtLeast(x, "x", 2);
        long b = x.size(0);
        if (scale == 1) {
            return model.predict(x, level, labels(b, label));
        }
        Tensor both = torch.cat(new TensorVector(x, x));
        Tensor l = torch.cat(new TensorVector(labels(b, label), labels(b, nullLabel)));
        Prediction p = model.predict(both, level, l);
        return new Prediction(guide(p.x0(), b), guide(p.eps(), b));
    }

    /** u + w (c - u) from the stacked [c; u]. */
    private Tensor guide(Tensor stacked, long b) {
        Tensor c = stacked.narrow(0, 0, b);
        Tensor u = stacked.narrow(0, b, b);
        return u.add(c.sub(u).mul(Tensors.scalar(scale)));
    }

    private static Tensor labels(long n, long value) {
        return torch.full(new long[] {n}, Tensors.scalar(value),
                new org.bytedeco.pytorch.TensorOptions(torch.ScalarType.Long));
    }
}
