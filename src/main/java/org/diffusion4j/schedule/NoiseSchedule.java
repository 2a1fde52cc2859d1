package org.diffusion4j.schedule;


/**
 * The discrete forward process' tables, computed as diffusers does: betas and alpha-bar are float32 values
 * (held here in doubles), alpha-bar is the float32 rounding of a float64 cumulative product. Emulating those
 * float32 islands is what lets our tables match diffusers' recorded ones to ~1 ulp.
 *
 * <p>Index t runs 0..T-1 as in diffusers (t = 0 is the least noisy step).
 */
public final class NoiseSchedule {
    private final ScheduleConfig config;
    private final double[] betas;
    private final double[] alphasCumprod;

    private NoiseSchedule(ScheduleConfig config, double[] betas) {
        this.config = config;
        this.betas = betas;
        this.alphasCumprod = cumprodFloat32(betas);
    }

    /** Builds the tables for {@code config}. */
    public static NoiseSchedule of(ScheduleConfig config) {
        double[] betas = switch (config.betaSchedule()) {
            case LINEAR -> linspaceFloat32(config.betaStart(), config.betaEnd(), config.numTrainTimesteps());
            case SCALED_LINEAR -> squareFloat32(linspaceFloat32(Math.sqrt(config.betaStart()),
                    Math.sqrt(config.betaEnd()), config.numTrainTimesteps()));
            case SQUAREDCOS_CAP_V2 -> cosineBetas(config.numTrainTimesteps());
            case SIGMOID -> sigmoidBetas(config);
        };
        if (config.rescaleZeroTerminalSnr()) {
            betas = rescaleZeroTerminalSnr(betas);
        }
        return new NoiseSchedule(config, betas);
    }

    /** A schedule from explicit betas (e.g. diffusers' {@code trained_betas}). */
    public static NoiseSchedule ofBetas(ScheduleConfig config, double[] betas) {
        if (betas.length != config.numTrainTimesteps()) {
            throw new IllegalArgumentException("got " + betas.length + " betas for num_train_timesteps "
                    + config.numTrainTimesteps());
        }
        for (int i = 0; i < betas.length; i++) {
            if (!(betas[i] >= 0 && betas[i] <= 1)) {
                throw new IllegalArgumentException("beta[" + i + "] = " + betas[i] + " is outside [0, 1]");
            }
        }
        return new NoiseSchedule(config, betas.clone());
    }

    public ScheduleConfig config() {
        return config;
    }

    /** T. */
    public int size() {
        return betas.length;
    }

    /** beta_t (a float32 value). */
    public double beta(int t) {
        return betas[check(t)];
    }

    /** alpha-bar_t = prod_{s<=t} (1 - beta_s) (a float32 value). */
    public double alphaBar(int t) {
        return alphasCumprod[check(t)];
    }

    /** A copy of the betas table. */
    public double[] betas() {
        return betas.clone();
    }

    /** A copy of the alpha-bar table. */
    public double[] alphasCumprod() {
        return alphasCumprod.clone();
    }

    /** The training sigmas sqrt((1 - alpha-bar) / alpha-bar), in float32 like diffusers' Euler-family tables. */
    public double[] sigmas() {
        return Sigmas.trainingFloat32(alphasCumprod);
    }

    private int check(int t) {
        if (t < 0 || t >= betas.length) {
            throw new IndexOutOfBoundsException("timestep " + t + " outside [0, " + betas.length + ")");
        }
        return t;
    }

    /**
     * torch.linspace(start, end, n, dtype=float32) bit for bit as diffusers' recorded tables were made (torch's AVX2
     * kernel): in chunks of 8, a base fma(step, i, start) (or fma(-step, n-1-i, end) past halfway, GCC contracts
     * these), then base + j * step without fma; the tail past the last 16-element block is scalar. A plain loop
     * differs by up to 2 ulps, which zero-terminal-SNR rescaling amplifies to ~5e-5 relative.
     */
    static double[] linspaceFloat32(double start, double end, int n) {
        float s = (float) start;
        float e = (float) end;
        double[] out = new double[n];
        if (n == 1) {
            out[0] = s;
            return out;
        }
        float step = (e - s) / (n - 1);
        int half = n / 2;
        final int vec = 8;
        int idx = 0;
        // Blocks of two vectors, as torch's vectorised loop unrolls.
        for (; idx + 2 * vec <= n; idx += 2 * vec) {
            for (int v = idx; v < idx + 2 * vec; v += vec) {
                float base = linspaceBase(s, e, step, v, n, half);
                for (int j = 0; j < vec; j++) {
                    out[v + j] = base + j * step;
                }
            }
        }
        for (; idx < n; idx++) {
            out[idx] = linspaceBase(s, e, step, idx, n, half);
        }
        return out;
    }

    private static float linspaceBase(float s, float e, float step, int idx, int n, int half) {
        return idx < half ? Math.fma(step, (float) idx, s) : Math.fma(-step, (float) (n - idx - 1), e);
    }

    private static double[] squareFloat32(double[] v) {
        double[] out = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            float f = (float) v[i];
            out[i] = f * f;
        }
        return out;
    }

    /** Nichol &amp; Dhariwal 2021, eq. 17: alpha-bar(t) = cos((t/T + s)/(1 + s) * pi/2)^2, s = 0.008, beta <= 0.999. */
    static double[] cosineBetas(int n) {
        double[] out = new double[n];
        for (int i = 0; i < n; i++) {
            double t1 = (double) i / n;
            double t2 = (double) (i + 1) / n;
            out[i] = (float) Math.min(1 - cosAlphaBar(t2) / cosAlphaBar(t1), 0.999);
        }
        return out;
    }

    private static double cosAlphaBar(double t) {
        double c = Math.cos((t + 0.008) / 1.008 * Math.PI / 2);
        return c * c;
    }

    private static double[] sigmoidBetas(ScheduleConfig c) {
        double[] x = linspaceFloat32(-6, 6, c.numTrainTimesteps());
        float range = (float) (c.betaEnd() - c.betaStart());
        float start = (float) c.betaStart();
        double[] out = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            float sig = (float) (1.0 / (1.0 + Math.exp(-(float) x[i])));
            out[i] = sig * range + start;
        }
        return out;
    }

    /** alpha-bar as float32(cumprod in float64 of float32(1 - beta)), which is what torch's CPU cumprod yields. */
    private static double[] cumprodFloat32(double[] betas) {
        double[] out = new double[betas.length];
        double acc = 1.0;
        for (int i = 0; i < betas.length; i++) {
            acc *= (float) (1f - (float) betas[i]);
            out[i] = (float) acc;
        }
        return out;
    }

    /**
     * Lin et al. 2023, algorithm 1: shift and scale sqrt(alpha-bar) so the last step has zero SNR while the first
     * keeps its value, then recover betas. Done in float32, as diffusers does.
     */
    static double[] rescaleZeroTerminalSnr(double[] betas) {
        int n = betas.length;
        double[] ac = cumprodFloat32(betas);
        float[] sqrtAb = new float[n];
        for (int i = 0; i < n; i++) {
            sqrtAb[i] = (float) Math.sqrt((float) ac[i]);
        }
        float first = sqrtAb[0];
        float last = sqrtAb[n - 1];
        float scale = first / (first - last);
        float[] ab = new float[n];
        for (int i = 0; i < n; i++) {
            float v = (sqrtAb[i] - last) * scale;
            ab[i] = v * v;
        }
        double[] out = new double[n];
        out[0] = 1f - ab[0];
        for (int i = 1; i < n; i++) {
            out[i] = 1f - ab[i] / ab[i - 1];
        }
        return out;
    }
}
