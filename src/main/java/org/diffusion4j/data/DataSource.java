package org.diffusion4j.data;

import java.util.function.Supplier;
import org.bytedeco.pytorch.Tensor;
import org.diffusion4j.tensor.Rng;
import org.diffusion4j.tensor.Tensors;

/**
 * Training batches. A batch is a function of (step, rng) only, where the trainer derives rng from (seed, step): resuming
 * at step k therefore replays exactly the data a straight run would have seen.
 */
public interface DataSource {
    /**
     * @param step      the global training step (0-based)
     * @param batchSize rows to return
     * @param rng       this step's generator
     * @return float32 [batchSize, ...] in the model's data space
     */
    Tensor batch(long step, int batchSize, Rng rng);

    /**
     * A batch with its class labels and, for coupled data (rectified flow's reflow), the noise paired with each row.
     *
     * @param x      float32 [B, ...]
     * @param labels int64 [B], or int64 caption token ids [B, L] for text-conditioned training, or null for
     *               unlabelled data
     * @param noise  float32 like x, or null: the trainer then draws fresh noise
     */
    record Batch(Tensor x, Tensor labels, Tensor noise) {
        /** Without paired noise. */
        public Batch(Tensor x, Tensor labels) {
            this(x, labels, null);
        }
    }

    /** The batch of {@link #batch} with its labels (the same draws); unlabelled sources return null labels. */
    default Batch labeledBatch(long step, int batchSize, Rng rng) {
        return new Batch(batch(step, batchSize, rng), null);
    }

    /**
     * Rows [from, to) of the batch {@link #labeledBatch(long, int, Rng)} returns, drawing from {@code rng} exactly as
     * it does: each data-parallel rank computes its share of the global batch this way, so that W ranks see the
     * batch one process would. Sources backed by stored examples override it to read only those rows.
     *
     * @return [to - from, ...] rows, labels and paired noise
     */
    default Batch labeledBatch(long step, int batchSize, Rng rng, int from, int to) {
        if (from < 0 || to > batchSize || from >= to) {
            throw new IllegalArgumentException("rows [" + from + ", " + to + ") outside a batch of " + batchSize);
        }
        Batch b = labeledBatch(step, batchSize, rng);
        if (from == 0 && to == batchSize) {
            return b;
        }
        return new Batch(b.x().narrow(0, from, to - from),
                b.labels() == null ? null : b.labels().narrow(0, from, to - from),
                b.noise() == null ? null : b.noise().narrow(0, from, to - from));
    }

    /**
     * n rows of one class, by rejection from repeated labelled draws.
     *
     * @param draw a fresh labelled batch per call (from one generator)
     * @return float32 [n, ...]
     */
    static Tensor rowsOfClass(Supplier<Batch> draw, int n, int label) {
        float[] out = null;
        int width = 0;
        int filled = 0;
        long[] shape = null;
        while (filled < n) {
            Batch b = draw.get();
            float[] x = Tensors.toFloats(b.x());
            long[] l = new long[Math.toIntExact(b.labels().numel())];
            b.labels().contiguous().data_ptr_long().get(l);
            if (out == null) {
                width = x.length / l.length;
                out = new float[n * width];
                shape = b.x().sizes().vec().get();
                shape[0] = n;
            }
            for (int i = 0; i < l.length && filled < n; i++) {
                if (l[i] == label) {
                    System.arraycopy(x, i * width, out, filled * width, width);
                    filled++;
                }
            }
        }
        return Tensors.fromFloats(out, shape);
    }

    /** How many classes the labels take (0 for unlabelled data). */
    default int numClasses() {
        return 0;
    }

    /** The shape of one sample, without the batch dimension. */
    long[] sampleShape();

    /** A short name recorded in checkpoints (e.g. "swiss-roll"). */
    String id();
}
