package org.diffusion4j.eval;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.diffusion4j.tensor.Rng;
import org.diffusion4j.tensor.Shapes;
import org.diffusion4j.tensor.Tensors;

/**
 * Distances between two sets of feature vectors [n, D] (float64): FID, KID and k-NN precision/recall. All work in
 * float64 because FID subtracts traces of similar size.
 */
public final class FeatureMetrics {
    private FeatureMetrics() {}

    /** Mean [D] and unbiased covariance [D, D] of a feature set, float64; owned by the caller's scope. */
    public record Stats(Tensor mean, Tensor covariance, long n) {}

    /**
     * @param features [n, D], n >= 2
     */
    public static Stats stats(Tensor features) {
        Shapes.require(features, "features", Shapes.ANY, Shapes.ANY);
        long n = features.size(0);
        if (n < 2) {
            throw new IllegalArgumentException("feature statistics need at least 2 samples, got " + n);
        }
        try (NoGradGuard guard = new NoGradGuard()) {
            Tensor f = features.to(torch.ScalarType.Double);
            Tensor mean = f.mean(new long[] {0}, false, new ScalarTypeOptional());
            Tensor c = f.sub(mean);
            return new Stats(mean, c.t().matmul(c).div(Tensors.scalar(n - 1)), n);
        }
    }

    /**
     * Fréchet distance between Gaussians fitted to two feature sets (Heusel et al. 2017, eq. 6):
     * |mu_a - mu_b|^2 + tr(S_a) + tr(S_b) - 2 tr((S_a S_b)^(1/2)). The trace of the matrix square root is taken as
     * the sum of the square roots of the eigenvalues of S_a^(1/2) S_b S_a^(1/2), which is symmetric PSD and has the
     * same eigenvalues as S_a S_b; this avoids scipy's non-symmetric sqrtm and its complex round-off.
     */
    public static double fid(Stats a, Stats b) {
        Shapes.requireSame(a.covariance(), "covariance a", b.covariance(), "covariance b");
        try (PointerScope scope = new PointerScope(); NoGradGuard guard = new NoGradGuard()) {
            double meanTerm = a.mean().sub(b.mean()).square().sum().item_double();
            Tensor sqrtA = psdSqrt(a.covariance());
            Tensor m = sqrtA.matmul(b.covariance()).matmul(sqrtA);
            m = m.add(m.t()).mul(Tensors.scalar(0.5));
            double trSqrt = torch.linalg_eigvalsh(m).clamp_min(Tensors.scalar(0)).sqrt().sum().item_double();
            double tr = a.covariance().trace().item_double() + b.covariance().trace().item_double();
            return Math.max(0, meanTerm + tr - 2 * trSqrt);
        }
    }

    /** FID between two feature sets. */
    public static double fid(Tensor a, Tensor b) {
        try (PointerScope scope = new PointerScope()) {
            return fid(stats(a), stats(b));
        }
    }

    private static Tensor psdSqrt(Tensor s) {
        var eig = torch.linalg_eigh(s.add(s.t()).mul(Tensors.scalar(0.5)));
        Tensor vals = eig.get0().clamp_min(Tensors.scalar(0)).sqrt();
        Tensor vecs = eig.get1();
        return vecs.mul(vals.unsqueeze(0)).matmul(vecs.t());
    }

    /** Mean and standard deviation over subsets. */
    public record Estimate(double mean, double std) {}

    /**
     * Kernel Inception Distance (Bińkowski et al. 2018): the unbiased MMD^2 with the cubic polynomial kernel
     * k(x, y) = (x.y / D + 1)^3, averaged over {@code subsets} random subsets of {@code subsetSize} from each set
     * (drawn without replacement within a subset). Unlike FID it is unbiased, so small sets can be compared.
     *
     * @param a [n, D]
     * @param b [m, D]
     */
    public static Estimate kid(Tensor a, Tensor b, int subsets, int subsetSize, Rng rng) {
        Shapes.require(a, "a", Shapes.ANY, Shapes.ANY);
        Shapes.require(b, "b", Shapes.ANY, a.size(1));
        if (subsets < 1) {
            throw new IllegalArgumentException("KID subsets must be >= 1, got " + subsets);
        }
        if (subsetSize < 2 || subsetSize > a.size(0) || subsetSize > b.size(0)) {
            throw new IllegalArgumentException("KID subset size must be in [2, min(n, m)] = [2, "
                    + Math.min(a.size(0), b.size(0)) + "], got " + subsetSize);
        }
        double d = a.size(1);
        double[] values = new double[subsets];
        try (NoGradGuard guard = new NoGradGuard()) {
            for (int s = 0; s < subsets; s++) {
                try (PointerScope scope = new PointerScope()) {
                    Tensor x = a.index_select(0, rng.randperm(a.size(0)).narrow(0, 0, subsetSize))
                            .to(torch.ScalarType.Double);
                    Tensor y = b.index_select(0, rng.randperm(b.size(0)).narrow(0, 0, subsetSize))
                            .to(torch.ScalarType.Double);
                    double kxx = SampleMetrics.meanOffDiagonal(poly(x, x, d));
                    double kyy = SampleMetrics.meanOffDiagonal(poly(y, y, d));
                    double kxy = poly(x, y, d).mean().item_double();
                    values[s] = kxx + kyy - 2 * kxy;
                }
            }
        }
        double mean = 0;
        for (double v : values) {
            mean += v / subsets;
        }
        double var = 0;
        for (double v : values) {
            var += (v - mean) * (v - mean) / Math.max(1, subsets - 1);
        }
        return new Estimate(mean, Math.sqrt(var));
    }

    private static Tensor poly(Tensor x, Tensor y, double d) {
        return x.matmul(y.t()).div(Tensors.scalar(d)).add(Tensors.scalar(1)).pow(Tensors.scalar(3));
    }

    /** Fractions in [0, 1]. */
    public record PrecisionRecall(double precision, double recall) {}

    /**
     * Improved precision and recall (Kynkäänniemi et al. 2019): each set's manifold is the union of balls around its
     * points reaching their k-th nearest neighbour. Precision is the fraction of generated points inside the real
     * manifold; recall, the fraction of real points inside the generated one. The paper uses k = 3.
     *
     * @param real      [n, D]
     * @param generated [m, D]
     */
    public static PrecisionRecall precisionRecall(Tensor real, Tensor generated, int k) {
        Shapes.require(real, "real", Shapes.ANY, Shapes.ANY);
        Shapes.require(generated, "generated", Shapes.ANY, real.size(1));
        if (k < 1 || k >= real.size(0) || k >= generated.size(0)) {
            throw new IllegalArgumentException("k must be in [1, min(n, m) - 1], got " + k + " for sets of "
                    + real.size(0) + " and " + generated.size(0));
        }
        try (PointerScope scope = new PointerScope(); NoGradGuard guard = new NoGradGuard()) {
            Tensor r = real.to(torch.ScalarType.Double);
            Tensor g = generated.to(torch.ScalarType.Double);
            Tensor rr = kthRadius(r, k);
            Tensor rg = kthRadius(g, k);
            return new PrecisionRecall(coverage(g, r, rr), coverage(r, g, rg));
        }
    }

    /** Distance from each point to its k-th nearest other point, [n]. */
    private static Tensor kthRadius(Tensor x, int k) {
        long n = x.size(0);
        Tensor out = torch.empty(n).to(torch.ScalarType.Double);
        for (long start = 0; start < n; start += 1024) {
            long b = Math.min(1024, n - start);
            try (PointerScope scope = new PointerScope()) {
                Tensor d = torch.cdist(x.narrow(0, start, b), x);
                // Column 0 of the sorted row is the point itself (distance 0), so the k-th neighbour is column k.
                Tensor kth = d.topk(k + 1, 1, false, true).get0().select(1, k);
                out.narrow(0, start, b).copy_(kth);
            }
        }
        return out;
    }

    /** Fraction of {@code points} within radius[j] of some manifold point j. */
    private static double coverage(Tensor points, Tensor manifold, Tensor radius) {
        long n = points.size(0);
        long inside = 0;
        for (long start = 0; start < n; start += 1024) {
            long b = Math.min(1024, n - start);
            try (PointerScope scope = new PointerScope()) {
                Tensor d = torch.cdist(points.narrow(0, start, b), manifold);
                Tensor hit = d.le(radius.unsqueeze(0)).any(1);
                inside += hit.sum().item_long();
            }
        }
        return (double) inside / n;
    }
}
