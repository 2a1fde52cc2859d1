package org.diffusion4j.model;

import org.bytedeco.pytorch.Tensor;

/**
 * A denoiser's answer at one noise level: the clean-data estimate and the noise estimate, both shaped like x_t.
 * Any parameterisation can be turned into this pair, which is all samplers ever read.
 *
 * @param variance null, or a learned reverse-step variance as Nichol &amp; Dhariwal (2021) parameterise it: v in
 *                 [-1, 1] per element, shaped like x_t, interpolating the log variance between beta-tilde_t (v = -1)
 *                 and beta_t (v = 1). Only ancestral DDPM with a learned-range variance reads it.
 */
public record Prediction(Tensor x0, Tensor eps, Tensor variance) {
    /** Without a learned variance. */
    public Prediction(Tensor x0, Tensor eps) {
        this(x0, eps, null);
    }
}
