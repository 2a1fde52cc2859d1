package org.diffusion4j.sampling;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.bytedeco.pytorch.Tensor;
import org.diffusion4j.model.ClippedDenoiser;
import org.diffusion4j.model.Denoiser;
import org.diffusion4j.schedule.NoiseLevel;
import org.diffusion4j.sampler.DdimSampler;
import org.diffusion4j.sampler.DdpmSampler;
import org.diffusion4j.sampler.DpmSolverSampler;
import org.diffusion4j.sampler.EulerAncestralSampler;
import org.diffusion4j.sampler.EulerSampler;
import org.diffusion4j.sampler.GradientEstimationSampler;
import org.diffusion4j.sampler.HeunSampler;
import org.diffusion4j.sampler.NoiseSource;
import org.diffusion4j.sampler.OutputKind;
import org.diffusion4j.sampler.PndmSampler;
import org.diffusion4j.sampler.Step;
import org.diffusion4j.sampler.StepListener;
import org.diffusion4j.sampler.Steps;
import org.diffusion4j.schedule.DiffusionProcess;
import org.diffusion4j.schedule.NoiseSchedule;
import org.diffusion4j.schedule.TimestepSpacing;

/**
 * Which sampler to run on a model's own training schedule, and how.
 *
 * @param kind     the sampler
 * @param steps    number of denoising steps; 0 means all T training steps
 * @param eta      DDIM's stochasticity (DDIM only)
 * @param spacing  how the steps are spread over the training timesteps (ignored with {@code karras})
 * @param variance DDPM's reverse variance (DDPM only)
 * @param clip     clamp predicted x0 to [-1, 1], for data in that range such as images. DDPM clips as diffusers'
 *                 clip_sample does; DDIM also re-derives eps from the clipped x0 (diffusers'
 *                 use_clipped_model_output); the other samplers get a {@link ClippedDenoiser}, which does the same
 * @param karras   Karras et al. 2022 sigmas (rho 7) between the schedule's extremes, for the sigma-based samplers
 * @param gam      the gradient-estimation sampler's gam (2 = its accelerated deterministic default)
 * @param mu       the gradient-estimation sampler's mu in [0, 1)
 * @param churn    Heun's stochastic churn (Karras et al. 2022, algorithm 2); {@link HeunSampler.Churn#NONE} for the
 *                 deterministic sampler and for every other sampler
 */
public record SamplerSpec(Kind kind, int steps, double eta, TimestepSpacing spacing, DdpmSampler.Variance variance,
                          boolean clip, boolean karras, double gam, double mu, HeunSampler.Churn churn) {
    /** The available samplers, by CLI name. */
    public enum Kind {
        DDPM("ddpm"), DDIM("ddim"), EULER("euler"), EULER_ANCESTRAL("euler-a"), HEUN("heun"), DPMPP_2M("dpm++2m"),
        DPMPP_2M_SDE("dpm++2m-sde"), DPMPP_3M("dpm++3m"), DPMPP_3M_SDE("dpm++3m-sde"), PNDM("pndm"), GE("ge");

        private final String id;

        Kind(String id) {
            this.id = id;
        }

        public String id() {
            return id;
        }

        public static Kind parse(String s) {
            String n = s.trim().toLowerCase(Locale.ROOT);
            for (Kind k : values()) {
                if (k.id.equals(n)) {
                    return k;
                }
            }
            throw new IllegalArgumentException("unknown sampler '" + s + "'; expected one of "
                    + Arrays.stream(values()).map(Kind::id).toList());
        }
    }

    public SamplerSpec {
        if (kind == null || spacing == null || variance == null) {
            throw new IllegalArgumentException("sampler kind, spacing and variance must be set");
        }
        if (steps < 0) {
            throw new IllegalArgumentException("sampler steps must be >= 0 (0 = all training steps), got " + steps);
        }
        if (!(eta >= 0 && eta <= 1)) {
            throw new IllegalArgumentException("eta must be in [0, 1], got " + eta);
        }
        if (karras && (kind == Kind.DDPM || kind == Kind.DDIM || kind == Kind.PNDM)) {
            throw new IllegalArgumentException("--karras is for the sigma-based samplers (euler, euler-a, heun, dpm++2m, "
                    + "dpm++2m-sde, dpm++3m, dpm++3m-sde, ge), not " + kind.id());
        }
        new GradientEstimationSampler.Options(gam, mu);
        if (churn == null) {
            throw new IllegalArgumentException("churn must be set (HeunSampler.Churn.NONE for none)");
        }
        if (churn.amount() > 0 && kind != Kind.HEUN) {
            throw new IllegalArgumentException("--churn is for the heun sampler, not " + kind.id());
        }
    }

    /** Without churn. */
    public SamplerSpec(Kind kind, int steps, double eta, TimestepSpacing spacing, DdpmSampler.Variance variance,
                       boolean clip, boolean karras, double gam, double mu) {
        this(kind, steps, eta, spacing, variance, clip, karras, gam, mu, HeunSampler.Churn.NONE);
    }

    /** DDPM or DDIM with the other samplers' settings at their defaults. */
    public SamplerSpec(Kind kind, int steps, double eta, TimestepSpacing spacing, DdpmSampler.Variance variance,
                       boolean clip) {
        this(kind, steps, eta, spacing, variance, clip, false, 2.0, 0.0, HeunSampler.Churn.NONE);
    }

    /**
     * The sampler a model gets when none is named. Images: DPM-Solver++(3M) SDE, which gave the lowest FID per model
     * evaluation of the samplers compared on MNIST (docs/models.md), on every process. Points and signals: ancestral
     * DDPM over every training step (cheap there), or Euler for a flow-matching model.
     */
    public static Kind defaultKind(boolean images, DiffusionProcess process) {
        return images ? Kind.DPMPP_3M_SDE : process instanceof DiffusionProcess.Flow ? Kind.EULER : Kind.DDPM;
    }

    /**
     * The default step count for {@link #defaultKind}; 0 = every training step. Images take 30: the fewest of those
     * tried (20, 30, 50) at which all three shipped models meet issue 23's targets over eight seeds; the Fashion-MNIST
     * model needs them (docs/models.md).
     */
    public static int defaultSteps(boolean images, DiffusionProcess process) {
        return images ? IMAGE_STEPS : process instanceof DiffusionProcess.Flow ? 50 : 0;
    }

    /** The default step count for images. */
    public static final int IMAGE_STEPS = 30;

    /** Ancestral sampling over every training step. */
    public static SamplerSpec ddpmFull() {
        return new SamplerSpec(Kind.DDPM, 0, 0, TimestepSpacing.LEADING, DdpmSampler.Variance.FIXED_SMALL, false);
    }

    /** A short label such as "ddim-50". */
    public String label(NoiseSchedule schedule) {
        return kind.id() + "-" + count(schedule) + (karras ? "-karras" : "")
                + (churn.amount() > 0 ? "-churn" + churn.amount() : "");
    }

    private int count(NoiseSchedule schedule) {
        int n = steps == 0 ? schedule.size() : steps;
        if (n > schedule.size()) {
            throw new IllegalArgumentException("--sampler-steps " + n + " exceeds the model's " + schedule.size()
                    + " training timesteps");
        }
        return n;
    }

    /** The DDPM/DDIM step list for {@code schedule}. */
    public List<Step> stepsFor(NoiseSchedule schedule) {
        int n = count(schedule);
        return switch (kind) {
            case DDPM -> Steps.ddpm(schedule, n, spacing, 0);
            case DDIM -> Steps.ddim(schedule, n, spacing, 0, true);
            default -> throw new IllegalStateException(kind.id() + " does not walk a DDPM step list");
        };
    }

    /** The N+1 noise levels the level-based samplers walk on {@code process} (see {@link DiffusionProcess#levels}). */
    public List<NoiseLevel> levelsFor(DiffusionProcess process) {
        return process.levels(count(process.schedule()), spacing, karras);
    }

    /** Model evaluations per batch (for progress bars): Heun evaluates twice per step, PLMS once more at the start. */
    public int evaluations(NoiseSchedule schedule) {
        int n = count(schedule);
        return switch (kind) {
            case HEUN -> 2 * n - 1;
            case PNDM -> n + 1;
            default -> n;
        };
    }

    /**
     * Checks that this sampler can walk {@code process}: DDPM, DDIM and PNDM walk a DDPM schedule's timesteps, which
     * a flow-matching model does not have.
     *
     * @throws IllegalArgumentException naming the sampler and the ones that would do
     */
    public void requireSupports(DiffusionProcess process) {
        boolean walksSteps = kind == Kind.DDPM || kind == Kind.DDIM || kind == Kind.PNDM;
        if (process instanceof DiffusionProcess.Flow && walksSteps) {
            throw new IllegalArgumentException(kind.id() + " walks a DDPM schedule; flow-matching models sample with "
                    + "euler, euler-a, heun, dpm++2m, dpm++2m-sde, dpm++3m, dpm++3m-sde, ge");
        }
    }

    /**
     * Runs the sampler from x_T (standard normal noise, x = alpha x0 + sigma eps at the first level) on the levels of
     * the process the model was trained on. DDPM, DDIM and PNDM walk a DDPM schedule and refuse a flow process.
     *
     * @return x at the clean end, shaped like xT
     */
    public Tensor run(Denoiser model, DiffusionProcess process, Tensor xT, NoiseSource noise, StepListener listener) {
        return run(model, process, xT, 0, noise, listener);
    }

    /**
     * The level step {@code from} of this sampler starts at: SDEdit (img2img) noises the data to it and runs the
     * steps from there ({@link #run(Denoiser, DiffusionProcess, Tensor, int, NoiseSource, StepListener)}).
     */
    public NoiseLevel startLevel(DiffusionProcess process, int from) {
        return switch (kind) {
            case DDPM, DDIM -> {
                Step s = stepsFor(process.schedule()).get(from);
                yield NoiseLevel.vp(s.timestep(), s.alphaBar());
            }
            default -> levelsFor(process).get(from);
        };
    }

    /** The step img2img at {@code strength} starts from: diffusers' {@code N - int(N * strength)}. */
    public int startIndex(DiffusionProcess process, double strength) {
        return Steps.startIndex(count(process.schedule()), strength);
    }

    /**
     * Runs the sampler's steps from step {@code from} on: x is at {@link #startLevel} (for img2img, the data noised
     * to it; at 0, x_T).
     *
     * @return x at the clean end, shaped like x
     */
    public Tensor run(Denoiser model, DiffusionProcess process, Tensor x, int from, NoiseSource noise,
                      StepListener listener) {
        requireSupports(process);
        int n = count(process.schedule());
        if (from < 0 || from >= n) {
            throw new IllegalArgumentException("start step must be in [0, " + (n - 1) + "], got " + from);
        }
        if (clip && kind != Kind.DDPM && kind != Kind.DDIM) {
            model = new ClippedDenoiser(model, 1.0);
        }
        NoiseSchedule schedule = process.schedule();
        List<NoiseLevel> levels = kind == Kind.DDPM || kind == Kind.DDIM ? null : tail(levelsFor(process), from);
        return switch (kind) {
            case DDPM -> DdpmSampler.sample(model, x, tail(stepsFor(schedule), from), noise,
                    new DdpmSampler.Options(variance, clip, 1.0), listener);
            // Re-derives eps from the clipped x0: diffusers' default (clipped x0 beside the unclipped eps) drifts off
            // the data as steps grow; measured on MNIST, DDIM-200 had FID 170 that way and 87 this way.
            case DDIM -> DdimSampler.sample(model, x, tail(stepsFor(schedule), from), noise,
                    new DdimSampler.Options(eta, clip, 1.0, clip), listener);
            case EULER -> EulerSampler.sample(model, x, levels, noise, EulerSampler.Options.deterministic(), listener);
            case EULER_ANCESTRAL -> EulerAncestralSampler.sample(model, x, levels, noise, listener);
            case HEUN -> HeunSampler.sample(model, x, levels, churn, process::atVe, noise, listener);
            case DPMPP_2M -> DpmSolverSampler.sample(model, x, levels, noise, DpmSolverSampler.Options.twoM(), listener);
            case DPMPP_2M_SDE -> DpmSolverSampler.sample(model, x, levels, noise,
                    new DpmSolverSampler.Options(2, DpmSolverSampler.SolverType.MIDPOINT, true, true, false), listener);
            case DPMPP_3M -> DpmSolverSampler.sample(model, x, levels, noise, DpmSolverSampler.Options.threeM(),
                    listener);
            case DPMPP_3M_SDE -> DpmSolverSampler.sample(model, x, levels, noise,
                    new DpmSolverSampler.Options(3, DpmSolverSampler.SolverType.MIDPOINT, true, true, false), listener);
            case PNDM -> PndmSampler.sample(model, x, levels, List.of(), new PndmSampler.Options(false, OutputKind.EPS),
                    listener);
            case GE -> GradientEstimationSampler.sample(model, x, levels, noise,
                    new GradientEstimationSampler.Options(gam, mu), listener);
        };
    }

    private static <T> List<T> tail(List<T> list, int from) {
        return list.subList(from, list.size());
    }
}
