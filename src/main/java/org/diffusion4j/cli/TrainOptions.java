package org.diffusion4j.cli;

import org.diffusion4j.model.Parameterization;
import org.diffusion4j.model.mlp.MlpConfig;
import org.diffusion4j.pipeline.RunSpec;
import org.diffusion4j.schedule.BetaSchedule;
import org.diffusion4j.schedule.ScheduleConfig;
import org.diffusion4j.train.TrainConfig;
import picocli.CommandLine.Option;

/** Training hyperparameters shared by {@code train} and the default demo. Defaults are the toy defaults. */
final class TrainOptions {
    @Option(names = "--data", defaultValue = "swiss-roll",
            description = "Dataset: swiss-roll, two-moons, 8gaussians, checkerboard (default: ${DEFAULT-VALUE}).")
    String data;

    @Option(names = "--steps", defaultValue = "3000", description = "Optimiser steps (default: ${DEFAULT-VALUE}).")
    long steps;

    @Option(names = "--batch-size", defaultValue = "256", description = "Samples per step (default: ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(names = "--lr", defaultValue = "1e-3", description = "Peak AdamW learning rate (default: ${DEFAULT-VALUE}).")
    double lr;

    @Option(names = "--weight-decay", defaultValue = "0", description = "AdamW weight decay (default: ${DEFAULT-VALUE}).")
    double weightDecay;

    @Option(names = "--warmup", defaultValue = "100", description = "Linear warm-up steps (default: ${DEFAULT-VALUE}).")
    long warmup;

    @Option(names = "--grad-clip", defaultValue = "1.0",
            description = "Clip the gradient norm to this; 0 = off (default: ${DEFAULT-VALUE}).")
    double gradClip;

    @Option(names = "--ema-decay", defaultValue = "0.995", description = "EMA decay; 0 = off (default: ${DEFAULT-VALUE}).")
    double emaDecay;

    @Option(names = "--min-snr-gamma", defaultValue = "0",
            description = "Min-SNR-gamma loss weighting; 0 = off, 5 is typical (default: ${DEFAULT-VALUE}).")
    double minSnrGamma;

    @Option(names = "--prediction", defaultValue = "epsilon",
            description = "What the network predicts: epsilon, sample, v_prediction (default: ${DEFAULT-VALUE}).")
    String prediction;

    @Option(names = "--beta-schedule", defaultValue = "linear",
            description = "linear, scaled_linear, squaredcos_cap_v2 (cosine), sigmoid (default: ${DEFAULT-VALUE}).")
    String betaSchedule;

    @Option(names = "--beta-start", defaultValue = "1e-4", description = "First beta (default: ${DEFAULT-VALUE}).")
    double betaStart;

    @Option(names = "--beta-end", defaultValue = "0.02", description = "Last beta (default: ${DEFAULT-VALUE}).")
    double betaEnd;

    @Option(names = "--timesteps", defaultValue = "1000", description = "Training timesteps T (default: ${DEFAULT-VALUE}).")
    int timesteps;

    @Option(names = "--zero-terminal-snr", description = "Rescale the schedule to zero terminal SNR.")
    boolean zeroTerminalSnr;

    @Option(names = "--hidden", defaultValue = "128", description = "MLP width (default: ${DEFAULT-VALUE}).")
    int hidden;

    @Option(names = "--depth", defaultValue = "3", description = "MLP residual blocks (default: ${DEFAULT-VALUE}).")
    int depth;

    @Option(names = "--seed", defaultValue = "0", description = "Seed for weights, batches and noise (default: ${DEFAULT-VALUE}).")
    long seed;

    /** Builds and validates the run; every error names its option. */
    RunSpec toSpec() {
        Parameterization p = named("--prediction", () -> Parameterization.parse(prediction));
        BetaSchedule bs = named("--beta-schedule", () -> BetaSchedule.parse(betaSchedule));
        ScheduleConfig schedule = named("--timesteps/--beta-*",
                () -> new ScheduleConfig(timesteps, bs, betaStart, betaEnd, zeroTerminalSnr));
        TrainConfig train = named("training options", () -> new TrainConfig(steps, batchSize, lr, weightDecay, 0.9,
                0.999, 1e-8, warmup, gradClip, emaDecay, minSnrGamma, p, seed));
        MlpConfig model = named("--hidden/--depth", () -> new MlpConfig(2, hidden, depth, 64));
        return named("--data", () -> new RunSpec(model, schedule, train, data));
    }

    static <T> T named(String option, java.util.function.Supplier<T> f) {
        try {
            return f.get();
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(option + ": " + e.getMessage(), e);
        }
    }
}
