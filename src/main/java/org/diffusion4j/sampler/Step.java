package org.diffusion4j.sampler;

/**
 * One reverse step between two noise levels of a variance-preserving process: from alpha-bar at {@code timestep}
 * to the less noisy {@code alphaBarPrev}. Discrete samplers see nothing else of the schedule.
 *
 * @param timestep     the network's time input at this step
 * @param alphaBar     alpha-bar_t of the current x_t
 * @param alphaBarPrev alpha-bar of the level stepped to (1 for the clean end)
 */
public record Step(double timestep, double alphaBar, double alphaBarPrev) {
    public Step {
        if (!(alphaBar >= 0 && alphaBar < 1)) {
            throw new IllegalArgumentException("alpha-bar must be in [0, 1), got " + alphaBar + " at t=" + timestep);
        }
        if (!(alphaBarPrev >= alphaBar && alphaBarPrev <= 1)) {
            throw new IllegalArgumentException("alpha-bar_prev must be in [alpha-bar, 1], got " + alphaBarPrev
                    + " after " + alphaBar + " at t=" + timestep);
        }
    }
}
