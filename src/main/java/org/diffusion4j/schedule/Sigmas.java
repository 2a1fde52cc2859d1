package org.diffusion4j.schedule;

/**
 * Noise levels in the variance-exploding view (Karras et al. 2022): x_t / sqrt(alpha-bar) = x0 + sigma * eps,
 * so sigma = sqrt((1 - alpha-bar) / alpha-bar). Spacings return descending sigmas of length n.
 */
public final class Sigmas {
    private Sigmas() {}

    /** sigma = sqrt((1 - alpha-bar) / alpha-bar); infinite at alpha-bar = 0. */
    public static double fromAlphaBar(double alphaBar) {
        checkUnit(alphaBar, "alpha-bar");
        return Math.sqrt((1 - alphaBar) / alphaBar);
    }

    /** alpha-bar = 1 / (1 + sigma^2). */
    public static double alphaBarFromSigma(double sigma) {
        if (!(sigma >= 0)) {
            throw new IllegalArgumentException("sigma must be >= 0, got " + sigma);
        }
        return 1 / (1 + sigma * sigma);
    }

    /** beta_t = 1 - alpha-bar_t / alpha-bar_{t-1}, with alpha-bar_{-1} = 1. */
    public static double[] betasFromAlphaBars(double[] alphaBars) {
        double[] out = new double[alphaBars.length];
        double prev = 1;
        for (int i = 0; i < alphaBars.length; i++) {
            checkUnit(alphaBars[i], "alpha-bar[" + i + "]");
            out[i] = 1 - alphaBars[i] / prev;
            prev = alphaBars[i];
        }
        return out;
    }

    /** Karras et al. 2022, eq. 5: sigma_i = (max^(1/rho) + i/(n-1) (min^(1/rho) - max^(1/rho)))^rho. rho = 7 is theirs. */
    public static double[] karras(double sigmaMin, double sigmaMax, int n, double rho) {
        checkRange(sigmaMin, sigmaMax, n);
        if (!(rho > 0)) {
            throw new IllegalArgumentException("rho must be > 0, got " + rho);
        }
        double minInv = Math.pow(sigmaMin, 1 / rho);
        double maxInv = Math.pow(sigmaMax, 1 / rho);
        double[] out = new double[n];
        for (int i = 0; i < n; i++) {
            double ramp = n == 1 ? 0 : (double) i / (n - 1);
            out[i] = Math.pow(maxInv + ramp * (minInv - maxInv), rho);
        }
        return out;
    }

    /** Evenly spaced in log sigma, from max down to min. */
    public static double[] logLinear(double sigmaMin, double sigmaMax, int n) {
        checkRange(sigmaMin, sigmaMax, n);
        double lo = Math.log(sigmaMin);
        double hi = Math.log(sigmaMax);
        double[] out = new double[n];
        for (int i = 0; i < n; i++) {
            double ramp = n == 1 ? 0 : (double) i / (n - 1);
            out[i] = Math.exp(hi + ramp * (lo - hi));
        }
        return out;
    }

    /**
     * The training sigmas sqrt((1 - alpha-bar) / alpha-bar) computed in float32 as diffusers' Euler-family
     * schedulers compute their tables, indexed by timestep (ascending).
     */
    public static double[] trainingFloat32(double[] alphasCumprod) {
        double[] s = new double[alphasCumprod.length];
        for (int i = 0; i < s.length; i++) {
            float a = (float) alphasCumprod[i];
            s[i] = (float) Math.sqrt((float) ((1f - a) / a));
        }
        return s;
    }

    /**
     * The fractional timestep whose training sigma is {@code sigma}, by linear interpolation in log sigma between
     * neighbouring training steps (diffusers' {@code _sigma_to_t}); clamped to [0, T-1].
     *
     * @param trainingSigmas ascending sigmas indexed by timestep, as {@link NoiseSchedule#sigmas()}
     */
    public static double toTimestep(double sigma, double[] trainingSigmas) {
        double[] logs = new double[trainingSigmas.length];
        for (int i = 0; i < logs.length; i++) {
            logs[i] = Math.log(trainingSigmas[i]);
        }
        return toTimestep(sigma, logs, false);
    }

    /**
     * As above on a table of log sigmas. With {@code float32}, the spacing of the two neighbouring logs is rounded
     * to float32, as in diffusers, whose log tables are float32 tensors.
     */
    public static double toTimestep(double sigma, double[] logSigmas, boolean float32) {
        int n = logSigmas.length;
        if (n < 2) {
            throw new IllegalArgumentException("need at least 2 training sigmas, got " + n);
        }
        double logSigma = Math.log(Math.max(sigma, 1e-10));
        // low = last index whose log sigma <= logSigma (0 if none), capped at n - 2 (numpy's cumsum/argmax trick).
        int low = 0;
        for (int i = 0; i < n; i++) {
            if (logSigma - logSigmas[i] >= 0) {
                low = i;
            }
        }
        low = Math.min(low, n - 2);
        double lo = logSigmas[low];
        double hi = logSigmas[low + 1];
        double spacing = float32 ? (float) (lo - hi) : lo - hi;
        double w = Math.max(0, Math.min(1, (lo - logSigma) / spacing));
        return (1 - w) * low + w * (low + 1);
    }

    private static void checkRange(double sigmaMin, double sigmaMax, int n) {
        if (n < 1) {
            throw new IllegalArgumentException("number of sigmas must be >= 1, got " + n);
        }
        if (!(sigmaMin > 0) || !(sigmaMax >= sigmaMin) || Double.isInfinite(sigmaMax)) {
            throw new IllegalArgumentException("need 0 < sigma_min <= sigma_max < inf, got " + sigmaMin + " and "
                    + sigmaMax);
        }
    }

    private static void checkUnit(double v, String name) {
        if (!(v >= 0 && v <= 1)) {
            throw new IllegalArgumentException(name + " must be in [0, 1], got " + v);
        }
    }
}
