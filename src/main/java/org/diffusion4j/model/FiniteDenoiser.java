package org.diffusion4j.model;

import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.diffusion4j.schedule.NoiseLevel;
import org.diffusion4j.tensor.DeviceSpec;

/**
 * Fails a sampling run at the first model evaluation whose prediction holds NaN or an infinity, naming the evaluation
 * and its noise level: a diverged model or an extreme guidance scale would otherwise write NaN images with success.
 */
public final class FiniteDenoiser implements Denoiser {
    private final Denoiser inner;
    private final AtomicLong evaluations = new AtomicLong();

    public FiniteDenoiser(Denoiser inner) {
        if (inner == null) {
            throw new IllegalArgumentException("denoiser to check must be set");
        }
        this.inner = inner;
    }

    @Override
    public DeviceSpec device() {
        return inner.device();
    }

    /**
     * @param x     x_t, shape [B, ...]
     * @param level the noise level of every row of x
     * @return the inner prediction, each half shaped like x
     * @throws NonFiniteException if either half holds a non-finite value
     */
    @Override
    public Prediction predict(Tensor x, NoiseLevel level) {
        long k = evaluations.getAndIncrement();
        Prediction p = inner.predict(x, level);
        if (!torch.isfinite(p.x0()).all().logical_and(torch.isfinite(p.eps()).all()).item_bool()) {
            double t = level.timestep();
            throw new NonFiniteException(String.format(Locale.ROOT, "the prediction turned non-finite (NaN or "
                    + "infinite) at model evaluation %d (timestep %s, sigma %.4g); nothing was written", k,
                    t == Math.rint(t) ? Long.toString((long) t) : String.format(Locale.ROOT, "%.4g", t), level.sigma()));
        }
        return p;
    }

    /** A prediction or sample that is not finite. */
    public static final class NonFiniteException extends IllegalStateException {
        public NonFiniteException(String message) {
            super(message);
        }
    }
}
