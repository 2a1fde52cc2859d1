package org.diffusion4j.eval;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.ScalarOptional;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.diffusion4j.tensor.Rng;
import org.diffusion4j.tensor.Shapes;
import org.diffusion4j.tensor.Tensors;

/**
 * Two-sample distances for low-dimensional data (the 2-D toy sets, short signals), where they are reliable and
 * need no feature extractor. Both compare sets of flat vectors [n, D].
 */
public final class SampleMetrics {
    private SampleMetrics() {}

    /**
     * Sliced 2-Wasserstein distance: sqrt of the mean over {@code projections} random unit directions of the squared
     * 1-D W2 between the projected sets (Bonneel et al. 2015). For equal n the 1-D W2 is exact via sorting.
     *
     * @param a [n, D]
     * @param b [n, D], same n
     */
    public static double slicedWasserstein(Tensor a, Tensor b, int projections, Rng rng) {
        checkPair(a, b);
        if (a.size(0) != b.size(0)) {
            throw new IllegalArgumentException("sliced Wasserstein needs equal set sizes, got " + a.size(0) + " and "
                    + b.size(0));
        }
        if (projections < 1) {
            throw new IllegalArgumentException("projections must be >= 1, got " + projections);
        }
        try (PointerScope scope = new PointerScope(); NoGradGuard guard = new NoGradGuard()) {
            Tensor dirs = rng.randn(torch.ScalarType.Double, a.size(1), projections);
            dirs = dirs.div(dirs.norm(new ScalarOptional(Tensors.scalar(2)),
                    new long[] {0}, true));
            Tensor pa = a.to(torch.ScalarType.Double).matmul(dirs).sort(0, false).get0();
            Tensor pb = b.to(torch.ScalarType.Double).matmul(dirs).sort(0, false).get0();
            return Math.sqrt(pa.sub(pb).square().mean().item_double());
        }
    }

    /**
     * Unbiased squared maximum mean discrepancy (Gretton et al. 2012) with a sum of Gaussian kernels at bandwidths
     * {@code scale * {0.1, 0.2, 0.5, 1, 2}}, so no single bandwidth has to be right. Can be slightly negative
     * for matching distributions.
     *
     * @param scale a length scale of the data (1 for the unit-spread toy sets)
     */
    public static double mmd(Tensor a, Tensor b, double scale) {
        checkPair(a, b);
        if (a.size(0) < 2 || b.size(0) < 2) {
            throw new IllegalArgumentException("MMD needs at least 2 samples per set");
        }
        if (!(scale > 0)) {
            throw new IllegalArgumentException("kernel scale must be > 0, got " + scale);
        }
        try (PointerScope scope = new PointerScope(); NoGradGuard guard = new NoGradGuard()) {
            Tensor x = a.to(torch.ScalarType.Double);
            Tensor y = b.to(torch.ScalarType.Double);
            double kxx = meanOffDiagonal(kernel(x, x, scale));
            double kyy = meanOffDiagonal(kernel(y, y, scale));
            double kxy = kernel(x, y, scale).mean().item_double();
            return kxx + kyy - 2 * kxy;
        }
    }

    private static Tensor kernel(Tensor x, Tensor y, double scale) {
        Tensor d2 = x.square().sum(new long[] {1}, true, new ScalarTypeOptional())
                .add(y.square().sum(new long[] {1}, true, new ScalarTypeOptional()).t())
                .sub(x.matmul(y.t()).mul(Tensors.scalar(2)))
                .clamp_min(Tensors.scalar(0));
        Tensor k = null;
        for (double bw : new double[] {0.1, 0.2, 0.5, 1, 2}) {
            double h = bw * scale;
            Tensor term = d2.div(Tensors.scalar(-2 * h * h)).exp();
            k = k == null ? term : k.add(term);
        }
        return k;
    }

    /** Mean of a square kernel matrix without its diagonal: the unbiased MMD term (also KID's). */
    static double meanOffDiagonal(Tensor k) {
        long n = k.size(0);
        double total = k.sum().item_double() - k.diagonal().sum().item_double();
        return total / (n * (n - 1));
    }

    private static void checkPair(Tensor a, Tensor b) {
        Shapes.require(a, "a", Shapes.ANY, Shapes.ANY);
        Shapes.require(b, "b", Shapes.ANY, a.size(1));
    }
}
