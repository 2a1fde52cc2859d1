package org.diffusion4j.data;

import java.util.Arrays;
import org.bytedeco.pytorch.Tensor;
import org.diffusion4j.tensor.Rng;
import org.diffusion4j.tensor.Shapes;

/**
 * Fixed (noise, sample) pairs, e.g. made by a trained flow model for reflow (Liu et al. 2023): each batch is rows
 * drawn with replacement, returned with their own noise, so the trainer regresses the straight line between them.
 *
 * @param samples float32 [N, ...]
 * @param noise   float32 like samples
 * @param id      the dataset the samples model
 */
public record PairedData(Tensor samples, Tensor noise, String id) implements DataSource {
    public PairedData {
        Shapes.requireSame(noise, "noise", samples, "samples");
    }

    @Override
    public Batch labeledBatch(long step, int batchSize, Rng rng) {
        Tensor idx = rng.randint(0, samples.size(0), batchSize);
        return new Batch(samples.index_select(0, idx), null, noise.index_select(0, idx));
    }

    @Override
    public Tensor batch(long step, int batchSize, Rng rng) {
        return labeledBatch(step, batchSize, rng).x();
    }

    @Override
    public long[] sampleShape() {
        long[] s = Shapes.of(samples);
        return Arrays.copyOfRange(s, 1, s.length);
    }
}
