package org.diffusion4j.data;

import java.util.Arrays;
import java.util.Locale;
import org.bytedeco.pytorch.Tensor;
import org.diffusion4j.tensor.Rng;
import org.diffusion4j.tensor.Tensors;

/**
 * Two-dimensional toy distributions, drawn fresh from a generator (no files). Each is scaled to roughly unit spread
 * so one model and one noise schedule suit them all.
 */
public enum ToyDataset implements DataSource {
    /** The 2-D swiss roll: r = theta in [1.5 pi, 4.5 pi], (r cos r, r sin r) / 5, plus N(0, 0.05^2) jitter. */
    SWISS_ROLL("swiss-roll") {
        @Override
        void fill(float[] u, float[] v, float[] g1, float[] g2, float[] out, long[] labels) {
            for (int i = 0; i < u.length; i++) {
                double t = 1.5 * Math.PI * (1 + 2 * u[i]);
                out[2 * i] = (float) (t * Math.cos(t) / 5 + 0.05 * g1[i]);
                out[2 * i + 1] = (float) (t * Math.sin(t) / 5 + 0.05 * g2[i]);
            }
        }
    },
    /** Two interleaved half circles (sklearn's make_moons), centred, scaled by 1.5, noise 0.05. */
    TWO_MOONS("two-moons") {
        @Override
        void fill(float[] u, float[] v, float[] g1, float[] g2, float[] out, long[] labels) {
            for (int i = 0; i < u.length; i++) {
                double a = Math.PI * u[i];
                boolean outer = v[i] < 0.5f;
                labels[i] = outer ? 0 : 1;
                double x = outer ? Math.cos(a) : 1 - Math.cos(a);
                double y = outer ? Math.sin(a) : 0.5 - Math.sin(a);
                out[2 * i] = (float) (1.5 * (x - 0.5 + 0.05 * g1[i]));
                out[2 * i + 1] = (float) (1.5 * (y - 0.25 + 0.05 * g2[i]));
            }
        }
    },
    /** Eight Gaussians of std 0.1 at radius 2, angles k pi / 4. */
    EIGHT_GAUSSIANS("8gaussians") {
        @Override
        void fill(float[] u, float[] v, float[] g1, float[] g2, float[] out, long[] labels) {
            for (int i = 0; i < u.length; i++) {
                int k = Math.min(7, (int) (u[i] * 8));
                labels[i] = k;
                double a = k * Math.PI / 4;
                out[2 * i] = (float) (2 * Math.cos(a) + 0.1 * g1[i]);
                out[2 * i + 1] = (float) (2 * Math.sin(a) + 0.1 * g2[i]);
            }
        }
    },
    /** A 4x4 checkerboard on [-2, 2]^2 with alternate cells filled (as in FFJORD). */
    CHECKERBOARD("checkerboard") {
        @Override
        void fill(float[] u, float[] v, float[] g1, float[] g2, float[] out, long[] labels) {
            for (int i = 0; i < u.length; i++) {
                double x = 4 * u[i] - 2;
                // Pick one of the two filled cells in x's column, then a uniform offset inside it.
                double cell = (g1[i] > 0 ? 1 : 0) * 2 - 2 + (Math.floorMod((int) Math.floor(x), 2));
                double y = cell + v[i];
                out[2 * i] = (float) x;
                out[2 * i + 1] = (float) y;
            }
        }
    };

    private final String id;

    ToyDataset(String id) {
        this.id = id;
    }

    /** Fills n points into {@code out} and, for the labelled sets, their class into {@code labels}. */
    abstract void fill(float[] u, float[] v, float[] g1, float[] g2, float[] out, long[] labels);

    /**
     * n fresh samples.
     *
     * @return float32 [n, 2]
     */
    public Tensor sample(int n, Rng rng) {
        return draw(n, rng).x();
    }

    /** n points and their labels (zeros for the unlabelled sets), from one set of draws. */
    private Batch draw(int n, Rng rng) {
        if (n < 1) {
            throw new IllegalArgumentException("number of samples must be >= 1, got " + n);
        }
        float[] u = Tensors.toFloats(rng.rand(n));
        float[] v = Tensors.toFloats(rng.rand(n));
        float[] g1 = Tensors.toFloats(rng.randn(n));
        float[] g2 = Tensors.toFloats(rng.randn(n));
        float[] out = new float[2 * n];
        long[] labels = new long[n];
        fill(u, v, g1, g2, out, labels);
        return new Batch(Tensors.fromFloats(out, n, 2), Tensors.fromLongs(labels, n));
    }

    /**
     * n fresh samples with their class: the moon for two-moons, the Gaussian (k at angle k pi / 4) for 8gaussians.
     *
     * @throws IllegalStateException for the unlabelled sets
     */
    public Batch labeledSample(int n, Rng rng) {
        if (numClasses() == 0) {
            throw new IllegalStateException(id + " has no class labels (two-moons and 8gaussians have)");
        }
        return draw(n, rng);
    }

    /**
     * n fresh samples of one class (by rejection from {@link #labeledSample}).
     *
     * @return float32 [n, 2]
     */
    public Tensor sampleClass(int n, int label, Rng rng) {
        if (label < 0 || label >= numClasses()) {
            throw new IllegalArgumentException("class " + label + " is not a class of " + id + " (0 to "
                    + (numClasses() - 1) + ")");
        }
        return DataSource.rowsOfClass(() -> labeledSample(2 * n * numClasses(), rng), n, label);
    }

    @Override
    public Tensor batch(long step, int batchSize, Rng rng) {
        return sample(batchSize, rng);
    }

    @Override
    public Batch labeledBatch(long step, int batchSize, Rng rng) {
        return numClasses() == 0 ? DataSource.super.labeledBatch(step, batchSize, rng) : labeledSample(batchSize, rng);
    }

    @Override
    public int numClasses() {
        return switch (this) {
            case TWO_MOONS -> 2;
            case EIGHT_GAUSSIANS -> 8;
            default -> 0;
        };
    }

    @Override
    public long[] sampleShape() {
        return new long[] {2};
    }

    @Override
    public String id() {
        return id;
    }

    /** Parses a name such as "swiss-roll" (or "swiss_roll"). */
    public static ToyDataset parse(String name) {
        String n = name.trim().toLowerCase(Locale.ROOT).replace('_', '-');
        for (ToyDataset d : values()) {
            if (d.id.equals(n)) {
                return d;
            }
        }
        throw new IllegalArgumentException("unknown toy dataset '" + name + "'; expected one of "
                + Arrays.stream(values()).map(ToyDataset::id).toList());
    }
}
