package org.diffusion4j.sampler;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.diffusion4j.schedule.NoiseLevel;
import org.diffusion4j.tensor.Rng;
import org.junit.jupiter.api.Test;

class EulerSamplerTest {
    @Test
    void isFirstOrderOnTheGaussianOde() {
        try (PointerScope scope = new PointerScope()) {
            GaussianDenoiser g = new GaussianDenoiser(0.5);
            Tensor xT = Rng.of(1).randn(256, 2).to(ScalarType.Double);
            double[] err = new double[2];
            for (int k = 0; k < 2; k++) {
                List<NoiseLevel> levels = GaussianDenoiser.levels(k == 0 ? 20 : 40);
                Tensor out = EulerSampler.sample(g, xT, levels, shape -> {
                    throw new AssertionError("deterministic Euler drew noise");
                }, EulerSampler.Options.deterministic(), StepListener.NONE);
                err[k] = GaussianDenoiser.maxError(out, g.exact(xT, levels.get(0)));
            }
            // Halving the step size roughly halves the error.
            assertThat(err[0] / err[1]).isBetween(1.5, 2.8);
        }
    }

    @Test
    void churnAddsNoiseButStillLandsOnThePoints() {
        try (PointerScope scope = new PointerScope()) {
            List<NoiseLevel> levels = GaussianDenoiser.levels(60);
            Tensor xT = Rng.of(2).randn(400, 2);
            int[] draws = {0};
            NoiseSource counting = shape -> {
                draws[0]++;
                return Rng.of(draws[0]).randn(shape);
            };
            Tensor x0 = EulerSampler.sample(IdealDenoiser.square(), xT, levels.subList(1, levels.size()), counting,
                    new EulerSampler.Options(10, 0.05, 50, 1, OutputKind.EPS), StepListener.NONE);
            IdealDenoiser.square().assertOnPoints(x0, 0.05);
            IdealDenoiser.square().assertCoversAllPoints(x0, 40);
            assertThat(draws[0]).as("noise drawn only where sigma is in [s_tmin, s_tmax]").isBetween(10, 58);
        }
    }

    @Test
    void rejectsBadOptionsAndLevels() {
        assertThatThrownBy(() -> new EulerSampler.Options(-1, 0, 1, 1, OutputKind.EPS)).hasMessageContaining("s_churn");
        assertThatThrownBy(() -> new EulerSampler.Options(0, 2, 1, 1, OutputKind.EPS)).hasMessageContaining("s_tmin");
        try (PointerScope scope = new PointerScope()) {
            List<NoiseLevel> upward = List.of(NoiseLevel.vp(1, 0.9), NoiseLevel.vp(2, 0.5));
            assertThatThrownBy(() -> EulerSampler.sample(IdealDenoiser.square(), Rng.of(1).randn(4, 2), upward,
                    NoiseSource.of(Rng.of(1)), EulerSampler.Options.deterministic(), StepListener.NONE))
                    .hasMessageContaining("noisier than level 0");
        }
    }
}
