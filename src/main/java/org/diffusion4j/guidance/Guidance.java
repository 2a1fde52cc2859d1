package org.diffusion4j.guidance;

/**
 * How classifier-free guidance is applied.
 *
 * @param scale    the weight w in u + w (c - u); 1 = no guidance
 * @param rescale  phi of guidance rescale (Lin et al. 2024, eq. 15-16), on the x0 prediction: the guided x0 is scaled
 *                 to the conditional x0's standard deviation and mixed back, phi * rescaled + (1 - phi) * guided. It
 *                 counters the over-saturation of large w; 0 = off, 0.7 is the paper's choice. (diffusers applies the
 *                 same formula to the raw network output.)
 * @param sigmaMin guidance is applied only at noise levels whose noise-to-signal ratio sigma / alpha (EDM's sigma)
 *                 lies in (sigmaMin, sigmaMax]; elsewhere the conditional prediction is used alone, in one pass
 *                 (the guidance interval of Kynkaanniemi et al. 2024). 0 and infinity = every level
 * @param sigmaMax see sigmaMin
 */
public record Guidance(double scale, double rescale, double sigmaMin, double sigmaMax) {
    public Guidance {
        if (!Double.isFinite(scale) || scale < 0) {
            throw new IllegalArgumentException("guidance scale must be finite and >= 0, got " + scale);
        }
        if (!(rescale >= 0 && rescale <= 1)) {
            throw new IllegalArgumentException("guidance rescale must be in [0, 1], got " + rescale);
        }
        if (!(sigmaMin >= 0) || !(sigmaMax > sigmaMin)) {
            throw new IllegalArgumentException("guidance interval must satisfy 0 <= low < high, got (" + sigmaMin + ", "
                    + sigmaMax + "]");
        }
    }

    /** Plain guidance of weight {@code scale} at every level, without rescale. */
    public static Guidance of(double scale) {
        return new Guidance(scale, 0, 0, Double.POSITIVE_INFINITY);
    }

    /** Whether guidance applies at noise-to-signal ratio {@code sigma / alpha}. */
    public boolean activeAt(double alpha, double sigma) {
        double ratio = alpha == 0 ? Double.POSITIVE_INFINITY : sigma / alpha;
        return ratio > sigmaMin && ratio <= sigmaMax;
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder(Double.toString(scale));
        if (rescale > 0) {
            sb.append(", rescale ").append(rescale);
        }
        if (sigmaMin > 0 || sigmaMax < Double.POSITIVE_INFINITY) {
            sb.append(", sigma in (").append(sigmaMin).append(", ").append(sigmaMax).append(']');
        }
        return sb.toString();
    }
}
