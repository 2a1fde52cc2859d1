package org.diffusion4j.cli;

import org.diffusion4j.pipeline.SamplerSpec;
import org.diffusion4j.sampler.DdpmSampler;
import org.diffusion4j.schedule.TimestepSpacing;
import picocli.CommandLine.Option;

/** Sampler choice shared by {@code sample} and the default demo. */
final class SamplerOptions {
    @Option(names = "--sampler", defaultValue = "ddpm", description = "ddpm or ddim (default: ${DEFAULT-VALUE}).")
    String sampler;

    @Option(names = "--sampler-steps", defaultValue = "0",
            description = "Denoising steps; 0 = all training steps (default: ${DEFAULT-VALUE}).")
    int steps;

    @Option(names = "--eta", defaultValue = "0", description = "DDIM eta in [0, 1] (default: ${DEFAULT-VALUE}).")
    double eta;

    @Option(names = "--spacing", defaultValue = "leading",
            description = "Timestep spacing: leading, trailing, linspace (default: ${DEFAULT-VALUE}).")
    String spacing;

    @Option(names = "--variance", defaultValue = "fixed_small",
            description = "DDPM variance: fixed_small or fixed_large (default: ${DEFAULT-VALUE}).")
    String variance;

    @Option(names = "--clip", description = "Clamp predicted x0 to [-1, 1] (for data in that range).")
    boolean clip;

    SamplerSpec toSpec() {
        SamplerSpec.Kind kind = TrainOptions.named("--sampler", () -> SamplerSpec.Kind.parse(sampler));
        TimestepSpacing sp = TrainOptions.named("--spacing", () -> TimestepSpacing.parse(spacing));
        DdpmSampler.Variance v = TrainOptions.named("--variance", () -> DdpmSampler.Variance.parse(variance));
        return TrainOptions.named("--sampler-steps/--eta", () -> new SamplerSpec(kind, steps, eta, sp, v, clip));
    }
}
