package org.diffusion4j.pipeline;

import java.util.List;
import java.util.Locale;
import org.diffusion4j.sampler.DdimSampler;
import org.diffusion4j.sampler.DdpmSampler;
import org.diffusion4j.sampler.Step;
import org.diffusion4j.sampler.Steps;
import org.diffusion4j.schedule.NoiseSchedule;
import org.diffusion4j.schedule.TimestepSpacing;

/**
 * Which sampler to run and how.
 *
 * @param kind     ddpm or ddim
 * @param steps    number of denoising steps; 0 means all T training steps
 * @param eta      DDIM's stochasticity (ignored by ddpm)
 * @param spacing  how the steps are spread over the training timesteps
 * @param variance DDPM's reverse variance (ignored by ddim)
 * @param clip     clamp predicted x0 to [-1, 1] (for data scaled to that range, e.g. images)
 */
public record SamplerSpec(Kind kind, int steps, double eta, TimestepSpacing spacing, DdpmSampler.Variance variance,
                          boolean clip) {
    /** The available samplers. */
    public enum Kind {
        DDPM, DDIM;

        public static Kind parse(String s) {
            return switch (s.trim().toLowerCase(Locale.ROOT)) {
                case "ddpm" -> DDPM;
                case "ddim" -> DDIM;
                default -> throw new IllegalArgumentException("unknown sampler '" + s + "'; expected ddpm or ddim");
            };
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
    }

    /** Ancestral sampling over every training step. */
    public static SamplerSpec ddpmFull() {
        return new SamplerSpec(Kind.DDPM, 0, 0, TimestepSpacing.LEADING, DdpmSampler.Variance.FIXED_SMALL, false);
    }

    /** The step list for {@code schedule}. */
    public List<Step> stepsFor(NoiseSchedule schedule) {
        int n = steps == 0 ? schedule.size() : steps;
        if (n > schedule.size()) {
            throw new IllegalArgumentException("--steps " + n + " exceeds the model's " + schedule.size()
                    + " training timesteps");
        }
        return switch (kind) {
            case DDPM -> Steps.ddpm(schedule, n, spacing, 0);
            case DDIM -> Steps.ddim(schedule, n, spacing, 0, true);
        };
    }

    /** The DDPM options this spec implies. */
    DdpmSampler.Options ddpmOptions() {
        return new DdpmSampler.Options(variance, clip, 1.0);
    }

    /** The DDIM options this spec implies. */
    DdimSampler.Options ddimOptions() {
        return new DdimSampler.Options(eta, clip, 1.0, false);
    }
}
