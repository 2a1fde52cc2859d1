package org.diffusion4j.sampler;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.diffusion4j.schedule.NoiseLevel;
import org.diffusion4j.tensor.Rng;
import org.junit.jupiter.api.Test;

class DpmSolverSamplerTest {
    private static double error(DpmSolverSampler.Options o, int n) {
        GaussianDenoiser g = new GaussianDenoiser(0.5);
        Tensor xT = Rng.of(1).randn(256, 2).to(torch.ScalarType.Double);
        List<NoiseLevel> levels = GaussianDenoiser.levels(n);
        Tensor out = DpmSolverSampler.sample(g, xT, levels, shape -> {
            throw new AssertionError("deterministic DPM-Solver++ drew noise");
        }, o, StepListener.NONE);
        return GaussianDenoiser.maxError(out, g.exact(xT, levels.get(0)));
    }

    @Test
    void secondOrderBeatsFirstOrderByFar() {
        try (PointerScope scope = new PointerScope()) {
            for (DpmSolverSampler.SolverType type : DpmSolverSampler.SolverType.values()) {
                double first = error(new DpmSolverSampler.Options(1, type, false, false, false), 20);
                double second = error(new DpmSolverSampler.Options(2, type, false, false, false), 20);
                assertThat(second).as(type.toString()).isLessThan(first / 2.5);
            }
            // First order is DDIM; its error halves with the step.
            double r = error(new DpmSolverSampler.Options(1, DpmSolverSampler.SolverType.MIDPOINT, false, false, false), 20)
                    / error(new DpmSolverSampler.Options(1, DpmSolverSampler.SolverType.MIDPOINT, false, false, false), 40);
            assertThat(r).isBetween(1.5, 2.8);
        }
    }

    @Test
    void thirdOrderConvergesAtThirdOrder() {
        try (PointerScope scope = new PointerScope()) {
            for (DpmSolverSampler.SolverType type : DpmSolverSampler.SolverType.values()) {
                double second = error(new DpmSolverSampler.Options(2, type, false, false, false), 20);
                double third20 = error(new DpmSolverSampler.Options(3, type, false, false, false), 20);
                double third40 = error(new DpmSolverSampler.Options(3, type, false, false, false), 40);
                assertThat(third20).as(type.toString()).isLessThan(second / 5);
                // Halving the step cuts a third-order error about 8x (measured 7.3x; second order about 5x).
                assertThat(third20 / third40).as(type.toString()).isBetween(6.0, 11.0);
            }
        }
    }

    @Test
    void orderRisesWithHistoryAndDropsAtTheEndOfShortRuns() {
        DpmSolverSampler.Options three = DpmSolverSampler.Options.threeM();
        NoiseLevel mid = new NoiseLevel(500, 0.8, 0.6);
        NoiseLevel clean = new NoiseLevel(0, 1, 0);
        int[] short10 = new int[10];
        for (int i = 0; i < 10; i++) {
            short10[i] = DpmSolverSampler.orderAt(three, i, 10, mid);
        }
        assertThat(short10).containsExactly(1, 2, 3, 3, 3, 3, 3, 3, 2, 1);
        // 15 steps or more keep the order to the end, unless the last step lands on sigma = 0.
        assertThat(DpmSolverSampler.orderAt(three, 18, 20, mid)).isEqualTo(3);
        assertThat(DpmSolverSampler.orderAt(three, 19, 20, mid)).isEqualTo(3);
        assertThat(DpmSolverSampler.orderAt(three, 19, 20, clean)).isEqualTo(1);
        assertThat(DpmSolverSampler.orderAt(DpmSolverSampler.Options.twoM(), 5, 10, mid)).isEqualTo(2);
    }

    @Test
    void sdeVariantsSampleTheRightDistribution() {
        for (int order : new int[] {2, 3}) {
            try (PointerScope scope = new PointerScope()) {
                GaussianDenoiser g = new GaussianDenoiser(0.5);
                Tensor out = DpmSolverSampler.sample(g, Rng.of(3).randn(20000, 1), GaussianDenoiser.levels(30),
                        NoiseSource.of(Rng.of(4)), new DpmSolverSampler.Options(order,
                                DpmSolverSampler.SolverType.MIDPOINT, true, true, false), StepListener.NONE);
                assertThat(out.std().item_double()).as("order " + order).isBetween(0.48, 0.52);
                assertThat(Math.abs(out.mean().item_double())).as("order " + order).isLessThan(0.01);
            }
        }
    }

    @Test
    void rejectsBadOptions() {
        assertThatThrownBy(() -> new DpmSolverSampler.Options(4, DpmSolverSampler.SolverType.MIDPOINT, false, true,
                false)).hasMessageContaining("order must be 1, 2 or 3");
        assertThatThrownBy(() -> DpmSolverSampler.SolverType.parse("bh2")).hasMessageContaining("midpoint or heun");
    }
}
