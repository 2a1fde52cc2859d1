package org.diffusion4j.sampler;

import static org.assertj.core.api.Assertions.assertThat;

import org.bytedeco.pytorch.LongOptional;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.diffusion4j.model.Denoiser;
import org.diffusion4j.schedule.NoiseLevel;
import org.diffusion4j.model.Prediction;
import org.diffusion4j.tensor.Tensors;

/**
 * The exact denoiser of a finite point set: E[x0 | x_t] = sum_j softmax_j(-|x_t - alpha p_j|^2 / (2 sigma^2)) p_j.
 * A correct sampler driven by it must return samples sitting on the points.
 */
final class IdealDenoiser implements Denoiser {
    private final Tensor points;

    IdealDenoiser(Tensor points) {
        this.points = points;
    }

    /** The four corners of [-1, 1]^2. */
    static IdealDenoiser square() {
        return new IdealDenoiser(Tensors.fromFloats(new float[] {-1, -1, -1, 1, 1, -1, 1, 1}, 4, 2));
    }

    @Override
    public Prediction predict(Tensor x, NoiseLevel level) {
        Tensor scaled = points.mul(Tensors.scalar(level.alpha()));
        // [B, K] squared distances.
        Tensor d2 = x.unsqueeze(1).sub(scaled.unsqueeze(0)).square().sum(new long[] {2}, false,
                new ScalarTypeOptional());
        Tensor w = torch.softmax(d2.div(Tensors.scalar(-2 * level.sigma() * level.sigma())), 1);
        Tensor x0 = w.matmul(points);
        Tensor eps = x.sub(x0.mul(Tensors.scalar(level.alpha()))).div(Tensors.scalar(level.sigma()));
        return new Prediction(x0, eps);
    }

    /** Every sample is within {@code tol} of some point. */
    void assertOnPoints(Tensor samples, double tol) {
        Tensor d = samples.unsqueeze(1).sub(points.unsqueeze(0)).square().sum(new long[] {2}, false,
                new ScalarTypeOptional()).sqrt();
        double worst = d.min(1, false).get0().max().item_double();
        assertThat(worst).as("distance of the worst sample to its nearest point").isLessThan(tol);
    }

    /** Each point attracts at least {@code min} samples (no mode collapse). */
    void assertCoversAllPoints(Tensor samples, int min) {
        Tensor d = samples.unsqueeze(1).sub(points.unsqueeze(0)).square().sum(new long[] {2}, false,
                new ScalarTypeOptional());
        double[] nearest = Tensors.toDoubles(d.argmin(new LongOptional(1), false));
        int[] counts = new int[Math.toIntExact(points.size(0))];
        for (double k : nearest) {
            counts[(int) k]++;
        }
        for (int k = 0; k < counts.length; k++) {
            assertThat(counts[k]).as("samples at point %d", k).isGreaterThanOrEqualTo(min);
        }
    }
}
