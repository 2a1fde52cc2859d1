package org.diffusion4j.sampler;

import org.bytedeco.pytorch.Tensor;
import org.diffusion4j.tensor.GaussianStream;
import org.diffusion4j.tensor.Rng;
import org.diffusion4j.tensor.Tensors;

/** Where a sampler's Gaussian noise comes from. Injecting it lets recorded noise be replayed. */
@FunctionalInterface
public interface NoiseSource {
    /** Standard normal float32 noise of {@code shape} ([B, ...]). */
    Tensor next(long... shape);

    /** All noise from one generator: results depend on the batch size. */
    static NoiseSource of(Rng rng) {
        return rng::randn;
    }

    /**
     * Row r of every draw comes from its own stream derived from (seed, firstIndex + r), so sample i of a run depends
     * only on (seed, i), not on the batch it was drawn in. Draws must have exactly {@code rows} rows. The streams are
     * {@link GaussianStream}s: cheap per row, identical on every JVM, but not torch.randn's values.
     */
    static NoiseSource perSample(long seed, long firstIndex, int rows) {
        if (rows < 1) {
            throw new IllegalArgumentException("rows must be >= 1, got " + rows);
        }
        GaussianStream[] streams = new GaussianStream[rows];
        for (int r = 0; r < rows; r++) {
            streams[r] = new GaussianStream(seed, firstIndex + r);
        }
        return shape -> {
            if (shape.length < 1 || shape[0] != rows) {
                throw new IllegalArgumentException("per-sample noise source has " + rows + " rows, asked for shape "
                        + java.util.Arrays.toString(shape));
            }
            long total = 1;
            for (long s : shape) {
                total = Math.multiplyExact(total, s);
            }
            int perRow = Math.toIntExact(total / rows);
            float[] values = new float[Math.toIntExact(total)];
            for (int r = 0; r < rows; r++) {
                streams[r].fill(values, r * perRow, perRow);
            }
            return Tensors.fromFloats(values, shape);
        };
    }
}
