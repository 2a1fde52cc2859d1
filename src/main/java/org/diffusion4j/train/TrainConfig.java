package org.diffusion4j.train;

import org.diffusion4j.model.Parameterization;
import org.diffusion4j.schedule.DiffusionProcess;
import org.diffusion4j.schedule.NoiseSchedule;
import org.diffusion4j.schedule.TimeSampling;

/**
 * Everything that determines a training run besides the model and data. Stored in every checkpoint.
 *
 * @param steps        total optimiser steps (3000 trains the 2-D toy sets to their real-data floor)
 * @param batchSize    samples per step (256)
 * @param learningRate peak AdamW learning rate (1e-3 suits small MLPs; 2e-4 is usual for U-Nets)
 * @param weightDecay  decoupled weight decay (0.0: tiny models underfit rather than overfit)
 * @param beta1        Adam's first-moment decay (0.9)
 * @param beta2        Adam's second-moment decay (0.999)
 * @param adamEps      Adam's denominator epsilon (1e-8)
 * @param warmupSteps  linear learning-rate warm-up from 0 over this many steps (100), then constant
 * @param gradClip     clip the global gradient L2 norm to this (1.0); 0 disables clipping
 * @param emaDecay     EMA decay of the weights (0.995); 0 disables EMA. Ramped as min(decay, (1+k)/(10+k))
 * @param minSnrGamma  min-SNR-gamma loss weighting (Hang et al. 2023; 5 is theirs); 0 disables it
 * @param prediction   what the network predicts (epsilon)
 * @param seed         seeds the initial weights and, with the step number, every batch, timestep and noise draw
 * @param bf16         run the forward pass under bfloat16 autocast (faster on CPUs with bf16 units; weights, optimizer
 *                     state and the loss stay float32); off by default
 * @param timeSampling how flow-matching training ({@code prediction} flow) draws t (uniform); unused otherwise
 * @param numClasses   class-conditional training on this many classes (0: unconditional). The network then has
 *                     numClasses + 1 class embeddings; the last one is the "no class" label of classifier-free guidance
 * @param labelDropout probability of replacing a label by "no class" (0.1, Ho &amp; Salimans 2022), so that one model
 *                     learns both the conditional and the unconditional denoiser
 * @param lrDecay      how the learning rate falls after the warm-up (constant: it does not)
 */
public record TrainConfig(long steps, int batchSize, double learningRate, double weightDecay, double beta1,
                          double beta2, double adamEps, long warmupSteps, double gradClip, double emaDecay,
                          double minSnrGamma, Parameterization prediction, long seed, boolean bf16,
                          TimeSampling timeSampling, int numClasses, double labelDropout,
                          LearningRateDecay lrDecay) {

    public TrainConfig {
        if (steps < 1) {
            throw new IllegalArgumentException("steps must be >= 1, got " + steps);
        }
        if (batchSize < 1) {
            throw new IllegalArgumentException("batch size must be >= 1, got " + batchSize);
        }
        if (!(learningRate > 0) || Double.isInfinite(learningRate)) {
            throw new IllegalArgumentException("learning rate must be finite and > 0, got " + learningRate);
        }
        if (!(weightDecay >= 0) || Double.isInfinite(weightDecay)) {
            throw new IllegalArgumentException("weight decay must be finite and >= 0, got " + weightDecay);
        }
        if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1)) {
            throw new IllegalArgumentException("Adam betas must be in [0, 1), got " + beta1 + ", " + beta2);
        }
        if (!(adamEps > 0) || Double.isInfinite(adamEps)) {
            throw new IllegalArgumentException("Adam epsilon must be finite and > 0, got " + adamEps);
        }
        if (warmupSteps < 0) {
            throw new IllegalArgumentException("warm-up steps must be >= 0, got " + warmupSteps);
        }
        if (!(gradClip >= 0) || Double.isInfinite(gradClip)) {
            throw new IllegalArgumentException("gradient clip must be finite and >= 0 (0 = off), got " + gradClip);
        }
        if (!(emaDecay >= 0 && emaDecay < 1)) {
            throw new IllegalArgumentException("EMA decay must be in [0, 1) (0 = off), got " + emaDecay);
        }
        if (!(minSnrGamma >= 0) || Double.isInfinite(minSnrGamma)) {
            throw new IllegalArgumentException("min-SNR gamma must be finite and >= 0 (0 = off), got " + minSnrGamma);
        }
        if (prediction == null) {
            throw new IllegalArgumentException("prediction type must be set");
        }
        if (prediction == Parameterization.FLOW && minSnrGamma > 0) {
            throw new IllegalArgumentException("min-SNR weighting is defined for the DDPM objective, not flow matching");
        }
        if (prediction == Parameterization.EDM && minSnrGamma > 0) {
            throw new IllegalArgumentException("min-SNR weighting does not combine with EDM, whose preconditioning "
                    + "already weights the loss (use --min-snr-gamma 0)");
        }
        if (timeSampling == null) {
            timeSampling = TimeSampling.UNIFORM;
        }
        if (numClasses < 0 || numClasses > 1 << 20) {
            throw new IllegalArgumentException("number of classes must be in [0, 2^20] (0 = unconditional), got "
                    + numClasses);
        }
        if (!(labelDropout >= 0 && labelDropout < 1)) {
            throw new IllegalArgumentException("label dropout must be in [0, 1), got " + labelDropout);
        }
        if (lrDecay == null) {
            lrDecay = LearningRateDecay.CONSTANT;
        }
    }

    /** With a constant learning rate after the warm-up. */
    public TrainConfig(long steps, int batchSize, double learningRate, double weightDecay, double beta1, double beta2,
                       double adamEps, long warmupSteps, double gradClip, double emaDecay, double minSnrGamma,
                       Parameterization prediction, long seed, boolean bf16, TimeSampling timeSampling, int numClasses,
                       double labelDropout) {
        this(steps, batchSize, learningRate, weightDecay, beta1, beta2, adamEps, warmupSteps, gradClip, emaDecay,
                minSnrGamma, prediction, seed, bf16, timeSampling, numClasses, labelDropout, LearningRateDecay.CONSTANT);
    }

    /** Unconditional, with a time sampling. */
    public TrainConfig(long steps, int batchSize, double learningRate, double weightDecay, double beta1, double beta2,
                       double adamEps, long warmupSteps, double gradClip, double emaDecay, double minSnrGamma,
                       Parameterization prediction, long seed, boolean bf16, TimeSampling timeSampling) {
        this(steps, batchSize, learningRate, weightDecay, beta1, beta2, adamEps, warmupSteps, gradClip, emaDecay,
                minSnrGamma, prediction, seed, bf16, timeSampling, 0, 0.1);
    }

    /** The "no class" label of a class-conditional model (its last class embedding). */
    public int nullLabel() {
        return numClasses;
    }

    /** Without a time sampling (uniform, which only flow matching uses). */
    public TrainConfig(long steps, int batchSize, double learningRate, double weightDecay, double beta1, double beta2,
                       double adamEps, long warmupSteps, double gradClip, double emaDecay, double minSnrGamma,
                       Parameterization prediction, long seed, boolean bf16) {
        this(steps, batchSize, learningRate, weightDecay, beta1, beta2, adamEps, warmupSteps, gradClip, emaDecay,
                minSnrGamma, prediction, seed, bf16, TimeSampling.UNIFORM);
    }

    /** The process this config trains on {@code schedule}: flow for FLOW, EDM for EDM, else DDPM. */
    public DiffusionProcess process(NoiseSchedule schedule) {
        return switch (prediction) {
            case FLOW -> new DiffusionProcess.Flow(schedule, timeSampling);
            case EDM -> new DiffusionProcess.Edm(schedule);
            default -> new DiffusionProcess.Ddpm(schedule);
        };
    }

    /** The defaults for the 2-D toy sets. */
    public static TrainConfig toyDefaults() {
        return new TrainConfig(3000, 256, 1e-3, 0.0, 0.9, 0.999, 1e-8, 100, 1.0, 0.995, 0, Parameterization.EPS, 0, false);
    }

    public TrainConfig withSteps(long newSteps) {
        return new TrainConfig(newSteps, batchSize, learningRate, weightDecay, beta1, beta2, adamEps, warmupSteps,
                gradClip, emaDecay, minSnrGamma, prediction, seed, bf16, timeSampling, numClasses, labelDropout, lrDecay);
    }

    public TrainConfig withSeed(long newSeed) {
        return new TrainConfig(steps, batchSize, learningRate, weightDecay, beta1, beta2, adamEps, warmupSteps,
                gradClip, emaDecay, minSnrGamma, prediction, newSeed, bf16, timeSampling, numClasses, labelDropout, lrDecay);
    }

    /** The learning rate at {@code step} (0-based): linear warm-up, then {@link #lrDecay}. */
    public double learningRateAt(long step) {
        if (warmupSteps == 0 || step >= warmupSteps) {
            return learningRate * lrDecay.factor(step, warmupSteps, steps);
        }
        return learningRate * (step + 1) / warmupSteps;
    }
}
