package org.diffusion4j.data;

import org.bytedeco.pytorch.Tensor;
import org.diffusion4j.tensor.Rng;

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
     * @param labels int64 [B], or null for unlabelled data
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

    /** How many classes the labels take (0 for unlabelled data). */
    default int numClasses() {
        return 0;
    }

    /** The shape of one sample, without the batch dimension. */
    long[] sampleShape();

    /** A short name recorded in checkpoints (e.g. "swiss-roll"). */
    String id();
}
