package org.diffusion4j.sampler;

import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.diffusion4j.tensor.DeviceSpec;
import org.diffusion4j.tensor.GaussianStream;
import org.diffusion4j.tensor.Rng;
import org.diffusion4j.tensor.Tensors;

/** Where a sampler's Gaussian noise comes from. Injecting it lets recorded noise be replayed. */
@FunctionalInterface
public interface NoiseSource {
    /** Standard normal float32 noise of {@code shape} ([B, ...]), on the device the sampler works on. */
    Tensor next(long... shape);

    /**
     * Per-sample noise drawn where the model runs: on the CPU, {@link #perSample(long, long, int)}; elsewhere,
     * {@link #perSampleGenerators}, so the sampling loop never copies noise from the host.
     */
    static NoiseSource perSample(long seed, long firstIndex, int rows, DeviceSpec device) {
        return device.isCpu() ? perSample(seed, firstIndex, rows) : perSampleGenerators(seed, firstIndex, rows, device);
    }

    /**
     * Row r of every draw comes from its own libtorch generator on {@code device}, seeded from
     * (seed, firstIndex + r): sample i depends only on (seed, i) and the device's generator type, and each draw is
     * one small randn per row, with no host copy. Draws must have exactly {@code rows} rows.
     */
    static NoiseSource perSampleGenerators(long seed, long firstIndex, int rows, DeviceSpec device) {
        if (rows < 1) {
            throw new IllegalArgumentException("rows must be >= 1, got " + rows);
        }
        Rng[] streams = new Rng[rows];
        for (int r = 0; r < rows; r++) {
            streams[r] = Rng.derive(device, seed, firstIndex + r);
        }
        return shape -> {
            SamplerSupport.requireRows(shape, rows);
            long[] row = shape.clone();
            row[0] = 1;
            TensorVector parts = new TensorVector();
            for (Rng stream : streams) {
                parts.push_back(stream.randn(row));
            }
            return torch.cat(parts, 0);
        };
    }

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
            SamplerSupport.requireRows(shape, rows);
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
