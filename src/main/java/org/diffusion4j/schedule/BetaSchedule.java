package org.diffusion4j.schedule;

import java.util.Arrays;
import java.util.Locale;

/** The beta schedules diffusers names in {@code beta_schedule}. */
public enum BetaSchedule {
    /** Linear in beta (DDPM, Ho et al. 2020). */
    LINEAR("linear"),
    /** Linear in sqrt(beta), then squared (Stable Diffusion). */
    SCALED_LINEAR("scaled_linear"),
    /** Cosine alpha-bar, betas capped at 0.999 (Nichol &amp; Dhariwal 2021, eq. 17). */
    SQUAREDCOS_CAP_V2("squaredcos_cap_v2"),
    /** Sigmoid over [-6, 6] scaled into [beta_start, beta_end] (GeoDiff). */
    SIGMOID("sigmoid");

    private final String id;

    BetaSchedule(String id) {
        this.id = id;
    }

    /** The diffusers name, e.g. {@code scaled_linear}. */
    public String id() {
        return id;
    }

    /** Parses a diffusers name (case-insensitive; '-' and '_' are interchangeable). */
    public static BetaSchedule parse(String name) {
        String n = name.trim().toLowerCase(Locale.ROOT).replace('-', '_');
        for (BetaSchedule s : values()) {
            if (s.id.equals(n) || (s == SQUAREDCOS_CAP_V2 && n.equals("cosine"))) {
                return s;
            }
        }
        throw new IllegalArgumentException("unknown beta schedule '" + name + "'; expected one of "
                + Arrays.stream(values()).map(BetaSchedule::id).toList() + " (or 'cosine')");
    }

    @Override
    public String toString() {
        return id;
    }
}
