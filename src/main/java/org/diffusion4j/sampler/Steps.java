package org.diffusion4j.sampler;

import java.util.ArrayList;
import java.util.List;
import org.diffusion4j.schedule.NoiseLevel;
import org.diffusion4j.schedule.NoiseSchedule;
import org.diffusion4j.schedule.TimestepSpacing;

/** Builds the step lists diffusers' DDPM and DDIM schedulers walk, from a training schedule. */
public final class Steps {
    private Steps() {}

    /** Every training step, T-1 down to 0: ancestral sampling as trained. */
    public static List<Step> full(NoiseSchedule schedule) {
        return ddpm(schedule, schedule.size(), TimestepSpacing.LEADING, 0);
    }

    /**
     * DDPM with {@code n} of the T steps: each step goes to the next timestep of the list, the last one to
     * alpha-bar = 1 (diffusers' {@code previous_timestep}).
     */
    public static List<Step> ddpm(NoiseSchedule schedule, int n, TimestepSpacing spacing, int stepsOffset) {
        int[] ts = spacing.timesteps(schedule.size(), n, stepsOffset);
        List<Step> steps = new ArrayList<>(ts.length);
        for (int i = 0; i < ts.length; i++) {
            double prev = i + 1 < ts.length ? schedule.alphaBar(ts[i + 1]) : 1.0;
            steps.add(new Step(ts[i], schedule.alphaBar(ts[i]), prev));
        }
        return List.copyOf(steps);
    }

    /**
     * DDIM: each step goes from t to t - T/n (integer division), as diffusers does for every spacing; below 0 it
     * goes to alpha-bar = 1 if {@code setAlphaToOne}, else to alpha-bar_0 (Song et al. 2021; diffusers
     * {@code set_alpha_to_one}).
     */
    public static List<Step> ddim(NoiseSchedule schedule, int n, TimestepSpacing spacing, int stepsOffset,
                                  boolean setAlphaToOne) {
        int[] ts = spacing.timesteps(schedule.size(), n, stepsOffset);
        int ratio = schedule.size() / n;
        double finalAlphaBar = setAlphaToOne ? 1.0 : schedule.alphaBar(0);
        List<Step> steps = new ArrayList<>(ts.length);
        for (int t : ts) {
            int prev = t - ratio;
            steps.add(new Step(t, schedule.alphaBar(t), prev >= 0 ? schedule.alphaBar(prev) : finalAlphaBar));
        }
        return List.copyOf(steps);
    }

    /**
     * The N+1 noise levels a step list walks through, for the level-based samplers: step i's level, then the last
     * step's target. Consecutive steps must chain (step i's target is step i+1's level).
     */
    public static List<NoiseLevel> levels(List<Step> steps) {
        if (steps.isEmpty()) {
            throw new IllegalArgumentException("steps must not be empty");
        }
        List<NoiseLevel> out = new ArrayList<>(steps.size() + 1);
        for (int i = 0; i < steps.size(); i++) {
            Step s = steps.get(i);
            if (i + 1 < steps.size() && s.alphaBarPrev() != steps.get(i + 1).alphaBar()) {
                throw new IllegalArgumentException("step " + i + " goes to alpha-bar " + s.alphaBarPrev()
                        + " but step " + (i + 1) + " starts at " + steps.get(i + 1).alphaBar());
            }
            out.add(NoiseLevel.vp(s.timestep(), s.alphaBar()));
        }
        Step last = steps.get(steps.size() - 1);
        out.add(NoiseLevel.vp(Math.max(0, last.timestep() - 1), last.alphaBarPrev()));
        return List.copyOf(out);
    }

    /**
     * The step img2img (SDEdit) starts from when it runs {@code strength} of n steps: diffusers'
     * {@code t_start = n - int(n * strength)}.
     *
     * @throws IllegalArgumentException when strength is outside (0, 1] or runs no step
     */
    public static int startIndex(int n, double strength) {
        if (!(strength > 0 && strength <= 1)) {
            throw new IllegalArgumentException("strength must be in (0, 1], got " + strength);
        }
        int run = (int) (n * strength);
        if (run < 1) {
            throw new IllegalArgumentException("strength " + strength + " of " + n + " steps runs no step (int(" + n
                    + " x " + strength + ") = 0); raise the strength or the steps");
        }
        return n - run;
    }
}
