package org.diffusion4j.eval;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.diffusion4j.tensor.Rng;
import org.diffusion4j.tensor.Tensors;
import org.diffusion4j.tensor.Torch;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class FeatureMetricsTest {
    @BeforeAll
    static void init() {
        Torch.init();
    }

    private static FeatureMetrics.Stats diagonal(double[] mean, double[] std, Tensor rotation) {
        int d = mean.length;
        double[] var = new double[d];
        for (int i = 0; i < d; i++) {
            var[i] = std[i] * std[i];
        }
        Tensor m = Tensors.fromDoubles(mean, d);
        Tensor c = torch.diag(Tensors.fromDoubles(var, d));
        if (rotation != null) {
            m = rotation.matmul(m);
            c = rotation.matmul(c).matmul(rotation.t());
        }
        return new FeatureMetrics.Stats(m, c, 1000);
    }

    @Test
    void fidMatchesTheClosedFormForGaussiansAndIsRotationInvariant() {
        double[] mu = {1, -2, 0.5, 0};
        double[] sa = {1, 2, 0.5, 3};
        double[] sb = {2, 1, 0.5, 0.1};
        // Diagonal covariances: FID = |mu_a - mu_b|^2 + sum (s_a - s_b)^2.
        double expected = 1 + 4 + 0.25 + (1 + 1 + 0 + 2.9 * 2.9);
        assertThat(FeatureMetrics.fid(diagonal(mu, sa, null), diagonal(new double[4], sb, null)))
                .isCloseTo(expected, within(1e-9));
        // A common rotation makes the covariances non-diagonal and S_a S_b non-symmetric; FID is unchanged.
        Tensor q = torch.linalg_qr(Rng.of(3).randn(torch.ScalarType.Double, 4, 4)).get0();
        assertThat(FeatureMetrics.fid(diagonal(mu, sa, q), diagonal(new double[4], sb, q)))
                .isCloseTo(expected, within(1e-9));
        assertThat(FeatureMetrics.fid(diagonal(mu, sa, q), diagonal(mu, sa, q))).isCloseTo(0, within(1e-9));
    }

    @Test
    void fidOfSamplesApproachesTheTruthAndIsZeroForIdenticalSets() {
        Tensor a = Rng.of(1).randn(20000, 3);
        Tensor b = Rng.of(2).randn(20000, 3).mul(Tensors.scalar(2)).add(Tensors.scalar(1));
        // mean shift 1 per dim (3), std 1 vs 2 per dim (3).
        assertThat(FeatureMetrics.fid(a, b)).isCloseTo(6.0, within(0.15));
        assertThat(FeatureMetrics.fid(a, a)).isCloseTo(0, within(1e-6));
    }

    @Test
    void kidIsUnbiasedNearZeroForOneDistributionAndPositiveForTwo() {
        Tensor a = Rng.of(1).randn(2000, 8);
        Tensor same = Rng.of(2).randn(2000, 8);
        Tensor shifted = Rng.of(3).randn(2000, 8).add(Tensors.scalar(0.5));
        FeatureMetrics.Estimate null0 = FeatureMetrics.kid(a, same, 50, 500, Rng.of(4));
        FeatureMetrics.Estimate diff = FeatureMetrics.kid(a, shifted, 50, 500, Rng.of(4));
        assertThat(Math.abs(null0.mean())).isLessThan(3 * null0.std() / Math.sqrt(50) + 1e-3);
        assertThat(diff.mean()).isGreaterThan(20 * null0.std());
    }

    @Test
    void kidOfOneSubsetEqualsTheUnbiasedEstimatorWrittenOut() {
        Tensor a = Rng.of(5).randn(torch.ScalarType.Double, 6, 3);
        Tensor b = Rng.of(6).randn(torch.ScalarType.Double, 6, 3).add(Tensors.scalar(0.3));
        double[] x = Tensors.toDoubles(a);
        double[] y = Tensors.toDoubles(b);
        double kxx = 0;
        double kyy = 0;
        double kxy = 0;
        for (int i = 0; i < 6; i++) {
            for (int j = 0; j < 6; j++) {
                double xx = 0;
                double yy = 0;
                double xy = 0;
                for (int d = 0; d < 3; d++) {
                    xx += x[3 * i + d] * x[3 * j + d];
                    yy += y[3 * i + d] * y[3 * j + d];
                    xy += x[3 * i + d] * y[3 * j + d];
                }
                if (i != j) {
                    kxx += Math.pow(xx / 3 + 1, 3);
                    kyy += Math.pow(yy / 3 + 1, 3);
                }
                kxy += Math.pow(xy / 3 + 1, 3);
            }
        }
        double expected = kxx / 30 + kyy / 30 - 2 * kxy / 36;
        // A full-size subset is a permutation of the set, which the estimator is invariant to.
        assertThat(FeatureMetrics.kid(a, b, 1, 6, Rng.of(0)).mean()).isCloseTo(expected, within(1e-9));
    }

    @Test
    void precisionAndRecallSeparateQualityFromCoverage() {
        Tensor real = Rng.of(1).randn(1000, 2);
        Tensor fresh = Rng.of(2).randn(1000, 2);
        FeatureMetrics.PrecisionRecall same = FeatureMetrics.precisionRecall(real, fresh, 3);
        assertThat(same.precision()).isGreaterThan(0.9);
        assertThat(same.recall()).isGreaterThan(0.9);
        // Mode dropping: samples from only the right half are realistic (precision) but cover half (recall).
        Tensor rightHalf = torch.cat(new TensorVector(fresh.narrow(1, 0, 1).abs(),
                fresh.narrow(1, 1, 1)), 1);
        FeatureMetrics.PrecisionRecall dropped = FeatureMetrics.precisionRecall(real, rightHalf, 3);
        assertThat(dropped.precision()).isGreaterThan(0.9);
        assertThat(dropped.recall()).isBetween(0.4, 0.7);
        // Off the manifold: nothing generated is realistic, and nothing real is covered.
        FeatureMetrics.PrecisionRecall far = FeatureMetrics.precisionRecall(real, fresh.add(Tensors.scalar(50)), 3);
        assertThat(far.precision()).isZero();
        assertThat(far.recall()).isZero();
    }

    @Test
    void rejectsBadArgumentsWithTheirNames() {
        Tensor a = Rng.of(1).randn(10, 4);
        assertThatThrownBy(() -> FeatureMetrics.stats(Rng.of(1).randn(1, 4))).hasMessageContaining("at least 2");
        assertThatThrownBy(() -> FeatureMetrics.fid(a, Rng.of(1).randn(10, 5))).hasMessageContaining("covariance");
        assertThatThrownBy(() -> FeatureMetrics.kid(a, a, 0, 5, Rng.of(0))).hasMessageContaining("subsets");
        assertThatThrownBy(() -> FeatureMetrics.kid(a, a, 5, 11, Rng.of(0))).hasMessageContaining("subset size");
        assertThatThrownBy(() -> FeatureMetrics.precisionRecall(a, a, 10)).hasMessageContaining("k must be");
        assertThatThrownBy(() -> FeatureMetrics.precisionRecall(a, Rng.of(1).randn(10, 3), 3))
                .hasMessageContaining("generated");
    }
}
