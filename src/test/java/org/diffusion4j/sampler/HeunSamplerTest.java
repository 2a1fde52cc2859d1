package org.diffusion4j.sampler;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.ArrayList;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.diffusion4j.schedule.NoiseLevel;
import org.diffusion4j.tensor.Rng;
import org.diffusion4j.tensor.Tensors;
import org.junit.jupiter.api.Test;

class HeunSamplerTest {
    @Test
    void isSecondOrderAndBeatsEulerAtTheSameSteps() {
        try (PointerScope scope = new PointerScope()) {
            GaussianDenoiser g = new GaussianDenoiser(0.5);
            Tensor xT = Rng.of(1).randn(256, 2).to(torch.ScalarType.Double);
            // Stop short of sigma = 0, where Heun falls back to Euler, to see its own order.
            double[] err = new double[2];
            for (int k = 0; k < 2; k++) {
                List<NoiseLevel> levels = GaussianDenoiser.levels(k == 0 ? 20 : 40);
                List<NoiseLevel> inner = levels.subList(0, levels.size() - 1);
                Tensor out = HeunSampler.sample(g, xT, inner, StepListener.NONE);
                Tensor exact = g.exact(xT, inner.get(0));
                Tensor atEnd = g.exact(out, inner.get(inner.size() - 1));
                err[k] = GaussianDenoiser.maxError(atEnd, exact);
            }
            assertThat(err[0] / err[1]).as("error ratio when halving the step").isBetween(3.0, 6.0);
            List<NoiseLevel> levels = GaussianDenoiser.levels(20);
            double heun = GaussianDenoiser.maxError(HeunSampler.sample(g, xT, levels, StepListener.NONE),
                    g.exact(xT, levels.get(0)));
            double euler = GaussianDenoiser.maxError(EulerSampler.sample(g, xT, levels, NoiseSource.of(Rng.of(1)),
                    EulerSampler.Options.deterministic(), StepListener.NONE), g.exact(xT, levels.get(0)));
            assertThat(heun).isLessThan(euler / 3);
        }
    }

    @Test
    void evaluatesTwicePerStepButTheLast() {
        try (PointerScope scope = new PointerScope()) {
            List<NoiseLevel> levels = GaussianDenoiser.levels(5);
            List<Integer> counts = new ArrayList<>();
            HeunSampler.sample(new GaussianDenoiser(1), Rng.of(1).randn(3, 2), levels,
                    (i, n, xt, x0) -> counts.add(n));
            assertThat(counts).hasSize(9).containsOnly(9);
        }
    }

    @Test
    void refusesAZeroSnrStart() {
        try (PointerScope scope = new PointerScope()) {
            List<NoiseLevel> levels = List.of(new NoiseLevel(999, 0, 1), NoiseLevel.vp(500, 0.5), NoiseLevel.vp(0, 1));
            assertThatThrownBy(() -> HeunSampler.sample(new GaussianDenoiser(1), Rng.of(1).randn(3, 2), levels,
                    StepListener.NONE)).hasMessageContaining("Heun needs alpha > 0");
        }
    }

    /** On flow levels Heun integrates in t, where it is second order too (the path starts at t = 0.9 here). */
    @Test
    void isSecondOrderOnFlowLevels() {
        try (PointerScope scope = new PointerScope()) {
            GaussianDenoiser g = new GaussianDenoiser(0.5);
            Tensor xT = Rng.of(1).randn(256, 2).to(torch.ScalarType.Double);
            double[] err = new double[2];
            for (int k = 0; k < 2; k++) {
                int n = k == 0 ? 10 : 20;
                List<NoiseLevel> levels = new ArrayList<>();
                for (int i = 0; i <= n; i++) {
                    double t = 0.9 - 0.88 * i / n;
                    levels.add(new NoiseLevel(t * 1000, 1 - t, t));
                }
                Tensor out = HeunSampler.sample(g, xT, levels, StepListener.NONE);
                err[k] = GaussianDenoiser.maxError(g.exact(out, levels.get(n)), g.exact(xT, levels.get(0)));
            }
            assertThat(err[0] / err[1]).as("error ratio when halving the step").isBetween(3.0, 6.0);
        }
    }

    /** Karras et al.'s algorithm 2 with the exact denoiser keeps the data distribution N(0, c^2), on both views. */
    @Test
    void churnKeepsTheDataDistributionOnVpAndFlowLevels() {
        try (PointerScope scope = new PointerScope()) {
            GaussianDenoiser g = new GaussianDenoiser(0.5);
            HeunSampler.Churn churn = new HeunSampler.Churn(40, 0.05, 50, 1.0);
            // 100 steps: churn adds discretisation error (30 steps leave std 0.519 on VP levels, 300 leave 0.501).
            List<NoiseLevel> vp = GaussianDenoiser.levels(100);
            List<NoiseLevel> flow = new ArrayList<>();
            for (int i = 0; i <= 100; i++) {
                double t = 0.98 * (1 - i / 100.0);
                flow.add(new NoiseLevel(t * 1000, 1 - t, t));
            }
            for (List<NoiseLevel> levels : List.of(vp, flow)) {
                boolean isFlow = levels == flow;
                NoiseLevel first = levels.get(0);
                double ve = first.sigma() / first.alpha();
                Tensor xT = Rng.of(2).randn(20000, 2).to(torch.ScalarType.Double)
                        .mul(Tensors.scalar(first.alpha() * Math.sqrt(0.25 + ve * ve)));
                int[] draws = {0};
                NoiseSource counted = shape -> {
                    draws[0]++;
                    return Rng.of(100 + draws[0]).randn(shape).to(torch.ScalarType.Double);
                };
                Tensor out = HeunSampler.sample(g, xT, levels, churn, s -> atVe(s, isFlow), counted,
                        StepListener.NONE);
                assertThat(out.std().item_double()).as(isFlow ? "flow" : "vp").isCloseTo(0.5, within(0.006));
                Tensor plain = HeunSampler.sample(g, xT, levels, StepListener.NONE);
                assertThat(GaussianDenoiser.maxError(out, plain)).as("churn changes the samples").isGreaterThan(0.1);
                long churned = levels.subList(0, 100).stream().mapToDouble(l -> l.sigma() / l.alpha())
                        .filter(v -> v >= 0.05 && v <= 50).count();
                assertThat(draws[0]).as("one draw per level in [tMin, tMax]").isEqualTo((int) churned)
                        .isBetween(1, 99);
            }
        }
    }

    @Test
    void aChurnRangeThatCoversNoLevelIsTheDeterministicSampler() {
        try (PointerScope scope = new PointerScope()) {
            GaussianDenoiser g = new GaussianDenoiser(0.5);
            List<NoiseLevel> levels = GaussianDenoiser.levels(10);
            Tensor xT = Rng.of(1).randn(64, 2);
            Tensor out = HeunSampler.sample(g, xT, levels, new HeunSampler.Churn(40, 100, 200, 1.0),
                    s -> atVe(s, false), shape -> {
                        throw new AssertionError("no level is churned, so no noise is drawn");
                    }, StepListener.NONE);
            assertThat(torch.equal(out, HeunSampler.sample(g, xT, levels, StepListener.NONE))).isTrue();
        }
    }

    @Test
    void refusesBadChurnSettings() {
        assertThatThrownBy(() -> new HeunSampler.Churn(-1, 0.05, 50, 1)).hasMessageContaining("churn");
        assertThatThrownBy(() -> new HeunSampler.Churn(10, 1, 0.5, 1)).hasMessageContaining("s-tmin <= s-tmax");
        assertThatThrownBy(() -> new HeunSampler.Churn(10, 0.05, 50, 0)).hasMessageContaining("s-noise");
    }

    private static NoiseLevel atVe(double s, boolean flow) {
        if (flow) {
            double t = s / (1 + s);
            return new NoiseLevel(t * 1000, 1 - t, t);
        }
        double alpha = 1 / Math.sqrt(1 + s * s);
        return new NoiseLevel(0, alpha, s * alpha);
    }
}
