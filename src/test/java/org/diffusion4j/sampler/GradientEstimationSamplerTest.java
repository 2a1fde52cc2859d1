package org.diffusion4j.sampler;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.diffusion4j.schedule.NoiseSchedule;
import org.diffusion4j.schedule.ScheduleConfig;
import org.diffusion4j.schedule.TimestepSpacing;
import org.diffusion4j.tensor.Rng;
import org.junit.jupiter.api.Test;

class GradientEstimationSamplerTest {
    private static final NoiseSchedule S = NoiseSchedule.of(ScheduleConfig.ddpmDefault());

    @Test
    void gamOneMuZeroIsDeterministicDdim() {
        try (PointerScope scope = new PointerScope()) {
            Tensor xT = Rng.of(1).randn(300, 2);
            List<Step> steps = Steps.ddim(S, 25, TimestepSpacing.LEADING, 0, true);
            Tensor ddim = DdimSampler.sample(IdealDenoiser.square(), xT, steps, NoiseSource.of(Rng.of(2)),
                    DdimSampler.Options.deterministic(), StepListener.NONE);
            Tensor ge = GradientEstimationSampler.sample(IdealDenoiser.square(), xT, Steps.levels(steps),
                    shape -> {
                        throw new AssertionError("mu = 0 drew noise");
                    }, new GradientEstimationSampler.Options(1, 0), StepListener.NONE);
            assertThat(GaussianDenoiser.maxError(ge, ddim)).isLessThan(1e-4);
        }
    }

    @Test
    void gamOneMuHalfIsDdpmWithThePosteriorVariance() {
        try (PointerScope scope = new PointerScope()) {
            Tensor xT = Rng.of(3).randn(300, 2);
            List<Step> steps = Steps.ddpm(S, 50, TimestepSpacing.LEADING, 0);
            // Same noise stream for both: they draw once per step except the last.
            Tensor ddpm = DdpmSampler.sample(IdealDenoiser.square(), xT, steps, floatNoise(7),
                    DdpmSampler.Options.defaults(), StepListener.NONE);
            Tensor ge = GradientEstimationSampler.sample(IdealDenoiser.square(), xT, Steps.levels(steps), floatNoise(7),
                    new GradientEstimationSampler.Options(1, 0.5), StepListener.NONE);
            assertThat(GaussianDenoiser.maxError(ge, ddpm)).isLessThan(1e-4);
            // And it is really stochastic: other noise, other samples.
            Tensor other = GradientEstimationSampler.sample(IdealDenoiser.square(), xT, Steps.levels(steps),
                    floatNoise(8), new GradientEstimationSampler.Options(1, 0.5), StepListener.NONE);
            assertThat(GaussianDenoiser.maxError(ge, other)).isGreaterThan(0.5);
        }
    }

    @Test
    void gamTwoIsMoreAccurateThanDdimOnTheGaussianOde() {
        try (PointerScope scope = new PointerScope()) {
            GaussianDenoiser g = new GaussianDenoiser(0.5);
            Tensor xT = Rng.of(1).randn(256, 2).to(torch.ScalarType.Double);
            var levels = GaussianDenoiser.levels(10);
            Tensor exact = g.exact(xT, levels.get(0));
            double ddim = GaussianDenoiser.maxError(GradientEstimationSampler.sample(g, xT, levels,
                    NoiseSource.of(Rng.of(1)), new GradientEstimationSampler.Options(1, 0), StepListener.NONE), exact);
            double accelerated = GaussianDenoiser.maxError(GradientEstimationSampler.sample(g, xT, levels,
                    NoiseSource.of(Rng.of(1)), new GradientEstimationSampler.Options(2, 0), StepListener.NONE), exact);
            assertThat(accelerated).isLessThan(ddim / 2);
        }
    }

    @Test
    void rejectsBadOptions() {
        assertThatThrownBy(() -> new GradientEstimationSampler.Options(0, 0)).hasMessageContaining("gam");
        assertThatThrownBy(() -> new GradientEstimationSampler.Options(1, 1)).hasMessageContaining("mu");
    }

    private static NoiseSource floatNoise(long seed) {
        Rng rng = Rng.of(seed);
        return rng::randn;
    }
}
