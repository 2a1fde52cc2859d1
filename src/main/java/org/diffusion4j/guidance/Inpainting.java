package org.diffusion4j.guidance;

import org.bytedeco.pytorch.Tensor;
import org.diffusion4j.model.Denoiser;
import org.diffusion4j.model.Prediction;
import org.diffusion4j.schedule.NoiseLevel;
import org.diffusion4j.tensor.DeviceSpec;
import org.diffusion4j.tensor.Shapes;
import org.diffusion4j.tensor.Tensors;

/**
 * Inpainting with any model, as the replacement step of RePaint (Lugmayr et al. 2022) and diffusers' inpainting with a
 * plain text-to-image U-Net: before each evaluation the known region of x is replaced by the known data noised to the
 * evaluation's level, alpha x0 + sigma eps with one fixed eps, so the model fills the masked region in agreement with
 * what surrounds it. The sampler's own state is left alone (samplers see only a denoiser); {@link #finish} puts the
 * known data back into the sampler's result.
 *
 * @param inner the model's denoiser
 * @param known the known data x0, [B, ...] (rows outside the mask are kept)
 * @param mask  1 where the model paints, 0 where {@code known} is kept: [B, 1, ...] or shaped like known
 * @param noise the standard normal eps that noises the known data, shaped like known
 */
public record Inpainting(Denoiser inner, Tensor known, Tensor mask, Tensor noise) implements Denoiser {
    public Inpainting {
        if (inner == null || known == null || mask == null || noise == null) {
            throw new IllegalArgumentException("inpainting needs a denoiser, the known data, a mask and noise");
        }
        Shapes.requireSame(noise, "inpainting noise", known, "known data");
        if (mask.dim() != known.dim() || mask.size(0) != known.size(0)
                || (mask.size(1) != 1 && mask.size(1) != known.size(1))) {
            throw new IllegalArgumentException("mask " + Shapes.str(mask) + " does not fit the known data "
                    + Shapes.str(known) + " (expected [B, 1, ...] or the data's shape)");
        }
        for (int d = 2; d < known.dim(); d++) {
            if (mask.size(d) != known.size(d)) {
                throw new IllegalArgumentException("mask " + Shapes.str(mask) + " does not fit the known data "
                        + Shapes.str(known));
            }
        }
    }

    /**
     * @param x     x_t, shaped like the known data
     * @param level the level of every row
     * @return the inner prediction for x with its known region replaced
     */
    @Override
    public Prediction predict(Tensor x, NoiseLevel level) {
        Shapes.requireSame(x, "x", known, "known data");
        Tensor noisedKnown = known.mul(Tensors.scalar(level.alpha())).add(noise.mul(Tensors.scalar(level.sigma())));
        return inner.predict(blend(x, noisedKnown), level);
    }

    /** The sampler's result with the known data back in place: mask x0 + (1 - mask) known. */
    public Tensor finish(Tensor x0) {
        Shapes.requireSame(x0, "result", known, "known data");
        return blend(x0, known);
    }

    private Tensor blend(Tensor painted, Tensor kept) {
        return kept.add(mask.mul(painted.sub(kept)));
    }

    @Override
    public DeviceSpec device() {
        return inner.device();
    }
}
