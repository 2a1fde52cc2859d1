package org.diffusion4j.sampler;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.diffusion4j.model.NoiseLevel;
import org.diffusion4j.tensor.Rng;
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
}
