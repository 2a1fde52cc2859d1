package org.diffusion4j.cli;

import org.diffusion4j.sampling.SamplerSpec;
import org.diffusion4j.sampler.DdpmSampler;
import org.diffusion4j.sampler.HeunSampler;
import org.diffusion4j.schedule.DiffusionProcess;
import org.diffusion4j.schedule.TimestepSpacing;
import picocli.CommandLine.Option;

/** Sampler choice shared by {@code sample} and the default demo. */
final class SamplerOptions {
    @Option(names = "--sampler", description = "ddpm, ddim, euler, euler-a, heun, dpm++2m, dpm++2m-sde, dpm++3m, "
            + "dpm++3m-sde, pndm or ge "
            + "(default: dpm++3m-sde with " + SamplerSpec.IMAGE_STEPS + " steps for images; ddpm over every step "
            + "for 2-D data, euler-50 for flow-matching 2-D models).")
    String sampler;

    @Option(names = "--karras", description = "Karras et al. sigmas (rho 7) for euler, euler-a, heun, dpm++2m/3m(-sde), ge.")
    boolean karras;

    @Option(names = "--gam", defaultValue = "2", description = "ge sampler: weight of the newest eps "
            + "(1 = DDIM/DDPM; default: ${DEFAULT-VALUE}).")
    double gam;

    @Option(names = "--mu", defaultValue = "0", description = "ge sampler: re-noising in [0, 1) (0 deterministic, "
            + "0.5 = DDPM; default: ${DEFAULT-VALUE}).")
    double mu;

    @Option(names = "--churn", defaultValue = "0", description = "heun sampler: Karras et al.'s S_churn, the noise "
            + "added back over the run (0 = deterministic; they used 40-80; default: ${DEFAULT-VALUE}).")
    double churn;

    @Option(names = "--s-tmin", defaultValue = "0.05", description = "heun with --churn: smallest VE sigma "
            + "churned (default: ${DEFAULT-VALUE}).")
    double sTmin;

    @Option(names = "--s-tmax", defaultValue = "50", description = "heun with --churn: largest VE sigma "
            + "churned (default: ${DEFAULT-VALUE}).")
    double sTmax;

    @Option(names = "--s-noise", defaultValue = "1.003", description = "heun with --churn: scale of the added "
            + "noise (default: ${DEFAULT-VALUE}).")
    double sNoise;

    @Option(names = "--sampler-steps",
            description = "Denoising steps; 0 = all training steps (default: 20 for images, 0 for 2-D data).")
    Integer steps;

    @Option(names = "--eta", defaultValue = "0", description = "DDIM eta in [0, 1] (default: ${DEFAULT-VALUE}).")
    double eta;

    @Option(names = "--spacing",
            description = "Timestep spacing: leading, trailing, linspace (default: trailing, which starts at the last "
                    + "training step; Lin et al. 2023).")
    String spacing;

    @Option(names = "--variance", defaultValue = "fixed_small",
            description = "DDPM variance: fixed_small or fixed_large (default: ${DEFAULT-VALUE}).")
    String variance;

    @Option(names = "--clip", description = "Clamp predicted x0 to [-1, 1] (always on for pixel images, whose data "
            + "is in that range; off for latent diffusion, whose latents are not).")
    boolean clip;

    /**
     * The sampler; defaults depend on the model ({@link SamplerSpec#defaultKind}): 30-step DPM-Solver++(3M) SDE for
     * images, all-step ancestral DDPM for 2-D data and signals, 50 Euler steps for their flow-matching models.
     *
     * @param images few-step defaults (pixel images and latents)
     * @param latent the model works in an autoencoder's latent space, so predictions are not clamped to [-1, 1]
     */
    SamplerSpec toSpec(boolean images, DiffusionProcess process, boolean latent) {
        SamplerSpec.Kind kind = TrainOptions.named("--sampler", () -> sampler != null ? SamplerSpec.Kind.parse(sampler)
                : SamplerSpec.defaultKind(images, process));
        TimestepSpacing sp = TrainOptions.named("--spacing",
                () -> TimestepSpacing.parse(spacing != null ? spacing : "trailing"));
        DdpmSampler.Variance v = TrainOptions.named("--variance", () -> DdpmSampler.Variance.parse(variance));
        int n = steps != null ? steps : SamplerSpec.defaultSteps(images, process);
        return TrainOptions.named("--sampler-steps/--eta/--karras/--gam/--mu/--churn/--s-tmin/--s-tmax/--s-noise",
                () -> new SamplerSpec(kind, n, eta, sp, v, clip || (images && !latent), karras, gam, mu,
                        new HeunSampler.Churn(churn, sTmin, sTmax, sNoise)));
    }

    /** A pixel-space model's sampler (see above). */
    SamplerSpec toSpec(boolean images, DiffusionProcess process) {
        return toSpec(images, process, false);
    }
}
