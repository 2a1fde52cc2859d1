package org.diffusion4j.model;

import org.bytedeco.pytorch.Tensor;
import org.diffusion4j.schedule.NoiseLevel;
import org.diffusion4j.tensor.DeviceSpec;
import org.diffusion4j.tensor.Tensors;

/**
 * Static thresholding (Saharia et al. 2022; DPM-Solver++'s "thresholding" for pixel data): clamps the wrapped
 * denoiser's x0 to [-bound, bound] and re-derives eps = (x - alpha x0) / sigma, so that both halves of the prediction
 * stay consistent with x_t and any sampler, whichever of the two it reads, sees the same clipped estimate. This is
 * what lets the sigma-based samplers clip without knowing the prediction type.
 *
 * @param inner the denoiser to wrap
 * @param bound the clamp bound (1 for data scaled to [-1, 1])
 */
public record ClippedDenoiser(Denoiser inner, double bound) implements Denoiser {
    public ClippedDenoiser {
        if (inner == null) {
            throw new IllegalArgumentException("denoiser to clip must be set");
        }
        if (!(bound > 0) || Double.isInfinite(bound)) {
            throw new IllegalArgumentException("clip bound must be finite and > 0, got " + bound);
        }
    }

    /**
     * @param x     x_t, shape [B, ...]
     * @param level the noise level of every row of x; at sigma = 0 eps is passed through, since x fixes nothing
     * @return the clipped x0 and its matching eps, each shaped like x
     */
    @Override
    public DeviceSpec device() {
        return inner.device();
    }

    @Override
    public Prediction predict(Tensor x, NoiseLevel level) {
        Prediction p = inner.predict(x, level);
        Tensor x0 = p.x0().clamp_min(Tensors.scalar(-bound)).clamp_max(Tensors.scalar(bound));
        if (level.sigma() == 0) {
            return new Prediction(x0, p.eps(), p.variance());
        }
        Tensor eps = x.sub(x0.mul(Tensors.scalar(level.alpha()))).div(Tensors.scalar(level.sigma()));
        return new Prediction(x0, eps, p.variance());
    }
}
