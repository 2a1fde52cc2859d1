package org.diffusion4j.schedule;

/**
 * One noise level of x_t = alpha * x0 + sigma * eps, with the value the network is conditioned on.
 *
 * @param timestep the network's time input (a DDPM timestep in [0, T), or a flow time scaled the same way)
 * @param alpha    the signal coefficient (sqrt(alpha-bar) for DDPM, 1 - t for flow)
 * @param sigma    the noise coefficient (sqrt(1 - alpha-bar) for DDPM, t for flow)
 */
public record NoiseLevel(double timestep, double alpha, double sigma) {
    public NoiseLevel {
        if (!Double.isFinite(timestep) || !(alpha >= 0) || !(sigma >= 0) || alpha + sigma == 0
                || Double.isInfinite(alpha) || Double.isInfinite(sigma)) {
            throw new IllegalArgumentException("invalid noise level: timestep=" + timestep + " alpha=" + alpha
                    + " sigma=" + sigma);
        }
    }

    /** The variance-preserving level for alpha-bar at {@code timestep}. */
    public static NoiseLevel vp(double timestep, double alphaBar) {
        return new NoiseLevel(timestep, Math.sqrt(alphaBar), Math.sqrt(1 - alphaBar));
    }
}
