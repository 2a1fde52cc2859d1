package org.diffusion4j.train;

/**
 * Optimisation settings of the autoencoder (the first stage of latent diffusion).
 *
 * @param steps        optimiser steps
 * @param batchSize    images per step
 * @param learningRate peak AdamW learning rate, after a linear warm-up
 * @param warmupSteps  linear warm-up steps
 * @param gradClip     gradient-norm clip; 0 = off
 * @param klWeight     weight of KL(q(z|x) || N(0, I)) summed over latent elements, against the reconstruction loss
 *                     summed over pixels (both then divided by the pixel count). LDM's value is 1e-6: enough to keep
 *                     the latents bounded, small enough that the autoencoder still reconstructs sharply
 * @param seed         seed for weights, batches and the posterior draws
 */
public record AutoencoderTrainConfig(long steps, int batchSize, double learningRate, long warmupSteps, double gradClip,
                                     double klWeight, long seed) {
    public AutoencoderTrainConfig {
        if (steps < 1) {
            throw new IllegalArgumentException("steps must be >= 1, got " + steps);
        }
        if (batchSize < 1) {
            throw new IllegalArgumentException("batch size must be >= 1, got " + batchSize);
        }
        if (!(learningRate > 0) || Double.isInfinite(learningRate)) {
            throw new IllegalArgumentException("learning rate must be a positive number, got " + learningRate);
        }
        if (warmupSteps < 0) {
            throw new IllegalArgumentException("warm-up steps must be >= 0, got " + warmupSteps);
        }
        if (!(gradClip >= 0) || Double.isInfinite(gradClip)) {
            throw new IllegalArgumentException("gradient clip must be >= 0 (0 = off), got " + gradClip);
        }
        if (!(klWeight >= 0) || Double.isInfinite(klWeight)) {
            throw new IllegalArgumentException("KL weight must be >= 0, got " + klWeight);
        }
    }

    /** The defaults: 1500 steps of 64 images at 1e-3 after 100 warm-up steps, clip 1, LDM's KL weight 1e-6. */
    public static AutoencoderTrainConfig defaults() {
        return new AutoencoderTrainConfig(1500, 64, 1e-3, 100, 1.0, 1e-6, 0);
    }

    public double learningRateAt(long step) {
        return warmupSteps == 0 || step >= warmupSteps ? learningRate : learningRate * (step + 1) / warmupSteps;
    }
}
