package org.diffusion4j.train;

import java.util.Locale;

/**
 * How the learning rate falls after the linear warm-up (diffusers' {@code --lr_scheduler}: constant_with_warmup,
 * linear, cosine). Decaying runs end at 0 on their last step, so a fine-tuning stretch settles instead of ending
 * wherever a constant rate left the weights.
 */
public enum LearningRateDecay {
    /** The peak rate until the end. */
    CONSTANT("constant"),
    /** Falls linearly from the peak to 0 between the end of the warm-up and the last step. */
    LINEAR("linear"),
    /** Half a cosine from the peak to 0 between the end of the warm-up and the last step (Loshchilov &amp; Hutter 2017). */
    COSINE("cosine");

    private final String id;

    LearningRateDecay(String id) {
        this.id = id;
    }

    /**
     * The factor on the peak rate at {@code step} (0-based) of a run of {@code steps} steps whose first
     * {@code warmupSteps} warm up: 1 at the end of the warm-up, then towards 0 at step {@code steps}.
     */
    public double factor(long step, long warmupSteps, long steps) {
        if (this == CONSTANT || step < warmupSteps) {
            return 1.0;
        }
        long span = steps - warmupSteps;
        double progress = span <= 0 ? 1.0 : Math.min(1.0, (double) (step - warmupSteps) / span);
        return this == LINEAR ? 1.0 - progress : 0.5 * (1.0 + Math.cos(Math.PI * progress));
    }

    public static LearningRateDecay parse(String s) {
        String n = s.trim().toLowerCase(Locale.ROOT);
        for (LearningRateDecay d : values()) {
            if (d.id.equals(n)) {
                return d;
            }
        }
        throw new IllegalArgumentException("unknown learning-rate decay '" + s + "'; expected constant, linear or cosine");
    }

    @Override
    public String toString() {
        return id;
    }
}
