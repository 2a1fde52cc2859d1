package org.diffusion4j.eval;

import java.util.Locale;
import java.util.function.BiFunction;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.diffusion4j.data.ToyDataset;
import org.diffusion4j.eval.SampleMetrics;
import org.diffusion4j.tensor.Rng;

/**
 * Sample quality of a 2-D model against fresh data from its distribution, beside the real-data floor: the same
 * metrics between two independent fresh sets of the same size. A good model lands near the floor.
 *
 * @param n        samples compared
 * @param swd      sliced 2-Wasserstein distance, samples vs fresh data
 * @param mmd      unbiased squared MMD, samples vs fresh data
 * @param swdFloor SWD between two fresh data sets
 * @param mmdFloor MMD between two fresh data sets
 */
public record QualityReport(int n, double swd, double mmd, double swdFloor, double mmdFloor) {
    /** Fixed so that reports from different runs use the same reference sets. */
    private static final long EVAL_SEED = 0x5EED_E7A1L;
    private static final int PROJECTIONS = 256;

    /**
     * @param samples float32 [n, 2]
     */
    public static QualityReport of(Tensor samples, ToyDataset data) {
        return of(samples, data, null);
    }

    /**
     * Against fresh data of one class when {@code label} is set (for class-conditional sampling).
     *
     * @param samples float32 [n, 2]
     */
    public static QualityReport of(Tensor samples, ToyDataset data, Integer label) {
        return of(samples, (n, rng) -> label == null ? data.sample(n, rng) : data.sampleClass(n, label, rng));
    }

    /**
     * Against fresh data from {@code fresh} (n, generator) -> [n, D], for any flat data (points, 1-D signals).
     *
     * @param samples float32 [n, D]
     */
    public static QualityReport of(Tensor samples, BiFunction<Integer, Rng, Tensor> fresh) {
        int n = Math.toIntExact(samples.size(0));
        try (PointerScope scope = new PointerScope()) {
            Tensor ref = fresh.apply(n, Rng.derive(EVAL_SEED, 1));
            Tensor ref2 = fresh.apply(n, Rng.derive(EVAL_SEED, 2));
            double swd = SampleMetrics.slicedWasserstein(samples, ref, PROJECTIONS, Rng.derive(EVAL_SEED, 3));
            double swdFloor = SampleMetrics.slicedWasserstein(ref2, ref, PROJECTIONS, Rng.derive(EVAL_SEED, 3));
            double mmd = SampleMetrics.mmd(samples, ref, 1.0);
            double mmdFloor = SampleMetrics.mmd(ref2, ref, 1.0);
            return new QualityReport(n, swd, mmd, swdFloor, mmdFloor);
        }
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "n=%d  sliced-W2 %.4f (real-data floor %.4f)  MMD^2 %.5f (floor %.5f)", n,
                swd, swdFloor, mmd, mmdFloor);
    }
}
