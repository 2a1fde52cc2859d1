package org.diffusion4j.schedule;

import java.util.Arrays;
import java.util.Locale;

/**
 * How N inference timesteps are picked from T training steps (diffusers {@code timestep_spacing}; Lin et al. 2023,
 * "Common Diffusion Noise Schedules and Sample Steps are Flawed", table 2). All return descending timesteps.
 */
public enum TimestepSpacing {
    /** {@code arange(0, N) * (T // N)} reversed, plus steps_offset. Never reaches t = T-1. */
    LEADING("leading"),
    /** {@code round(arange(T, 0, -T/N)) - 1}: always starts at T-1. */
    TRAILING("trailing"),
    /** {@code round(linspace(0, T-1, N))} reversed. */
    LINSPACE("linspace");

    private final String id;

    TimestepSpacing(String id) {
        this.id = id;
    }

    /** The diffusers name. */
    public String id() {
        return id;
    }

    /** Parses a diffusers name. */
    public static TimestepSpacing parse(String name) {
        String n = name.trim().toLowerCase(Locale.ROOT);
        for (TimestepSpacing s : values()) {
            if (s.id.equals(n)) {
                return s;
            }
        }
        throw new IllegalArgumentException("unknown timestep spacing '" + name + "'; expected one of "
                + Arrays.stream(values()).map(TimestepSpacing::id).toList());
    }

    /**
     * The descending integer timesteps for {@code numInference} steps out of {@code numTrain}.
     *
     * @param stepsOffset added to every timestep (diffusers {@code steps_offset}; only meaningful for LEADING)
     */
    public int[] timesteps(int numTrain, int numInference, int stepsOffset) {
        if (numTrain < 1) {
            throw new IllegalArgumentException("numTrain must be >= 1, got " + numTrain);
        }
        if (numInference < 1 || numInference > numTrain) {
            throw new IllegalArgumentException("number of inference steps must be in [1, " + numTrain + "], got "
                    + numInference);
        }
        if (stepsOffset < 0) {
            throw new IllegalArgumentException("steps_offset must be >= 0, got " + stepsOffset);
        }
        int[] ts = new int[numInference];
        switch (this) {
            case LEADING -> {
                int ratio = numTrain / numInference;
                for (int i = 0; i < numInference; i++) {
                    ts[i] = (numInference - 1 - i) * ratio + stepsOffset;
                }
            }
            case TRAILING -> {
                double ratio = (double) numTrain / numInference;
                // np.arange(T, 0, -ratio): start, start-ratio, ... while > 0; numpy's length is ceil(T/ratio).
                for (int i = 0; i < numInference; i++) {
                    ts[i] = (int) Math.rint(numTrain - i * ratio) - 1;
                }
            }
            case LINSPACE -> {
                // numpy's linspace: i * step, with the last point set to the end exactly.
                double step = numInference == 1 ? 0.0 : (double) (numTrain - 1) / (numInference - 1);
                for (int i = 0; i < numInference; i++) {
                    double v = i == numInference - 1 && numInference > 1 ? numTrain - 1 : i * step;
                    ts[numInference - 1 - i] = (int) Math.rint(v);
                }
            }
            default -> throw new AssertionError(this);
        }
        for (int t : ts) {
            if (t >= numTrain) {
                throw new IllegalArgumentException("steps_offset " + stepsOffset + " pushes timestep " + t
                        + " past the last training step " + (numTrain - 1));
            }
        }
        return ts;
    }

    @Override
    public String toString() {
        return id;
    }
}
