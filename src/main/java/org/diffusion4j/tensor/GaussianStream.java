package org.diffusion4j.tensor;

/**
 * A small, platform-independent stream of standard normal floats: SplitMix64 for uniforms, Box-Muller (with
 * StrictMath, so every JVM gives the same bits) for normals. Used where each sample needs its own cheap stream,
 * e.g. per-sample sampler noise; bulk randomness uses {@link Rng} (libtorch's generator).
 */
public final class GaussianStream {
    private long state;
    private float spare;
    private boolean hasSpare;

    /** A stream determined by {@code seed} and {@code keys} (e.g. (seed, sampleIndex)). */
    public GaussianStream(long seed, long... keys) {
        this.state = Rng.mix(seed, keys);
    }

    /** The next standard normal value. */
    public float next() {
        if (hasSpare) {
            hasSpare = false;
            return spare;
        }
        // u1 in (0, 1] so log(u1) is finite; u2 in [0, 1).
        double u1 = ((nextLong() >>> 11) + 1) * 0x1.0p-53;
        double u2 = (nextLong() >>> 11) * 0x1.0p-53;
        double r = StrictMath.sqrt(-2 * StrictMath.log(u1));
        double a = 2 * Math.PI * u2;
        spare = (float) (r * StrictMath.sin(a));
        hasSpare = true;
        return (float) (r * StrictMath.cos(a));
    }

    /** Fills {@code out[from, from + n)} with normals. */
    public void fill(float[] out, int from, int n) {
        for (int i = from; i < from + n; i++) {
            out[i] = next();
        }
    }

    private long nextLong() {
        long z = (state += 0x9E3779B97F4A7C15L);
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
