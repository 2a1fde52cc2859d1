package org.diffusion4j.data;

import org.bytedeco.pytorch.Tensor;
import org.diffusion4j.tensor.Rng;
import org.diffusion4j.tensor.Tensors;

/**
 * Synthetic 1-D signals of {@link #LENGTH} samples, drawn fresh from a generator: a sine of 1, 2 or 3 periods
 * over the window (the class label), amplitude in [0.5, 1], random phase, plus N(0, 0.02^2) noise.
 */
public final class Waveforms implements DataSource {
    /** Samples per signal. */
    public static final int LENGTH = 64;
    /** The dataset id. */
    public static final String ID = "waveforms";
    /** The one instance (the set is generated, not loaded). */
    public static final Waveforms INSTANCE = new Waveforms();

    private Waveforms() {}

    /** n fresh signals with their class (periods - 1). */
    public Batch labeledSample(int n, Rng rng) {
        if (n < 1) {
            throw new IllegalArgumentException("number of samples must be >= 1, got " + n);
        }
        float[] u = Tensors.toFloats(rng.rand(n, 3));
        float[] noise = Tensors.toFloats(rng.randn(n, LENGTH));
        float[] out = new float[n * LENGTH];
        long[] labels = new long[n];
        for (int i = 0; i < n; i++) {
            int k = Math.min(2, (int) (u[3 * i] * 3));
            double amp = 0.5 + 0.5 * u[3 * i + 1];
            double phase = 2 * Math.PI * u[3 * i + 2];
            labels[i] = k;
            for (int j = 0; j < LENGTH; j++) {
                double t = (double) j / LENGTH;
                out[i * LENGTH + j] = (float) (amp * Math.sin(2 * Math.PI * (k + 1) * t + phase)
                        + 0.02 * noise[i * LENGTH + j]);
            }
        }
        return new Batch(Tensors.fromFloats(out, n, LENGTH), Tensors.fromLongs(labels, n));
    }

    /**
     * n fresh signals.
     *
     * @return float32 [n, LENGTH]
     */
    public Tensor sample(int n, Rng rng) {
        return labeledSample(n, rng).x();
    }

    /** n fresh signals of one class. */
    public Tensor sampleClass(int n, int label, Rng rng) {
        if (label < 0 || label > 2) {
            throw new IllegalArgumentException("class " + label + " is not a class of waveforms (0 to 2)");
        }
        return DataSource.rowsOfClass(() -> labeledSample(4 * n, rng), n, label);
    }

    @Override
    public Tensor batch(long step, int batchSize, Rng rng) {
        return sample(batchSize, rng);
    }

    @Override
    public Batch labeledBatch(long step, int batchSize, Rng rng) {
        return labeledSample(batchSize, rng);
    }

    @Override
    public int numClasses() {
        return 3;
    }

    @Override
    public long[] sampleShape() {
        return new long[] {LENGTH};
    }

    @Override
    public String id() {
        return ID;
    }
}
