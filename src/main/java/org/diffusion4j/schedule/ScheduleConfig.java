package org.diffusion4j.schedule;

/**
 * The training noise schedule, with diffusers' field meanings.
 *
 * @param numTrainTimesteps      T, the number of forward-process steps (diffusers default 1000)
 * @param betaSchedule           how betas grow with t (default linear, as in DDPM)
 * @param betaStart              beta_1 (default 1e-4; ignored by squaredcos_cap_v2)
 * @param betaEnd                beta_T (default 0.02; ignored by squaredcos_cap_v2)
 * @param rescaleZeroTerminalSnr rescale so alpha-bar_T = 0 exactly (Lin et al. 2023, algorithm 1); default off
 */
public record ScheduleConfig(int numTrainTimesteps, BetaSchedule betaSchedule, double betaStart, double betaEnd,
                             boolean rescaleZeroTerminalSnr) {

    public ScheduleConfig {
        if (numTrainTimesteps < 2 || numTrainTimesteps > 100_000) {
            throw new IllegalArgumentException("num_train_timesteps must be in [2, 100000], got " + numTrainTimesteps);
        }
        if (betaSchedule == null) {
            throw new IllegalArgumentException("beta_schedule must be set");
        }
        if (betaSchedule != BetaSchedule.SQUAREDCOS_CAP_V2) {
            if (!(betaStart > 0 && betaStart < 1) || !(betaEnd > 0 && betaEnd < 1)) {
                throw new IllegalArgumentException("beta_start and beta_end must be in (0, 1), got " + betaStart
                        + " and " + betaEnd);
            }
            if (betaEnd < betaStart) {
                throw new IllegalArgumentException("beta_end (" + betaEnd + ") must be >= beta_start (" + betaStart + ")");
            }
        }
    }

    /** DDPM's schedule: T = 1000, linear betas from 1e-4 to 0.02. */
    public static ScheduleConfig ddpmDefault() {
        return new ScheduleConfig(1000, BetaSchedule.LINEAR, 1e-4, 0.02, false);
    }
}
