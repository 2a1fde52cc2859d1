package org.diffusion4j.schedule;

import java.util.Locale;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.diffusion4j.tensor.Rng;

/** How flow-matching training draws its times t in (0, 1) (DDPM training draws integer timesteps uniformly). */
public enum TimeSampling {
    /** t ~ U(0, 1) (Lipman et al. 2023; Liu et al. 2023). */
    UNIFORM("uniform"),
    /** t = sigmoid(n), n ~ N(0, 1): more weight on the middle of the path (Esser et al. 2024, SD3, section 3.1). */
    LOGIT_NORMAL("logit_normal");

    private final String id;

    TimeSampling(String id) {
        this.id = id;
    }

    /** {@code n} times, float32 [n]. */
    public Tensor sample(Rng rng, int n) {
        return switch (this) {
            case UNIFORM -> rng.rand(n);
            case LOGIT_NORMAL -> torch.sigmoid(rng.randn(n));
        };
    }

    public static TimeSampling parse(String s) {
        String n = s.trim().toLowerCase(Locale.ROOT).replace('-', '_');
        for (TimeSampling t : values()) {
            if (t.id.equals(n)) {
                return t;
            }
        }
        throw new IllegalArgumentException("unknown time sampling '" + s + "'; expected uniform or logit_normal");
    }

    @Override
    public String toString() {
        return id;
    }
}
