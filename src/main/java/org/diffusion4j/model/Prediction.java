package org.diffusion4j.model;

import org.bytedeco.pytorch.Tensor;

/**
 * A denoiser's answer at one noise level: the clean-data estimate and the noise estimate, both shaped like x_t.
 * Any parameterisation can be turned into this pair, which is all samplers ever read.
 */
public record Prediction(Tensor x0, Tensor eps) {}
