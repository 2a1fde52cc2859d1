package org.diffusion4j.sampler;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.diffusion4j.schedule.NoiseSchedule;
import org.diffusion4j.schedule.ScheduleConfig;
import org.diffusion4j.schedule.TimestepSpacing;
import org.diffusion4j.tensor.Rng;
import org.diffusion4j.tensor.Tensors;
import org.junit.jupiter.api.Test;

class DdimSamplerTest {
    private static List<Step> steps(DiffusersCase c) {
        return Steps.ddim(c.schedule, c.numInference(), c.spacing(), c.config.get("steps_offset").asInt(),
                c.config.get("set_alpha_to_one").asBoolean());
    }

    private static DdimSampler.Options options(DiffusersCase c) {
        double eta = c.json.get("eta").isNull() ? 0 : c.json.get("eta").asDouble();
        return new DdimSampler.Options(eta, c.config.get("clip_sample").asBoolean(),
                c.config.get("clip_sample_range").asDouble(), false);
    }

    private static DiffusersCase.Sampler sampler(DiffusersCase c) {
        return (model, xT, steps, noise, listener) -> DdimSampler.sample(model, xT, steps, noise, options(c), listener);
    }

    @Test
    void matchesEveryRecordedDiffusersTrajectoryStepByStepAndClosedLoop() {
        DiffusersCase.assertConforms("DDIMScheduler", 4, DdimSamplerTest::steps, DdimSamplerTest::sampler);
    }

    @Test
    void idealDenoiserOfAPointSetReproducesThePoints() {
        NoiseSchedule s = NoiseSchedule.of(ScheduleConfig.ddpmDefault());
        try (PointerScope scope = new PointerScope()) {
            IdealDenoiser ideal = IdealDenoiser.square();
            Tensor xT = Rng.of(3).randn(400, 2);
            for (double eta : new double[] {0, 0.5, 1}) {
                Tensor x0 = DdimSampler.sample(ideal, xT, Steps.ddim(s, 50, TimestepSpacing.TRAILING, 0, true),
                        NoiseSource.of(Rng.of(4)), new DdimSampler.Options(eta, false, 1, false), StepListener.NONE);
                ideal.assertOnPoints(x0, 0.02);
                ideal.assertCoversAllPoints(x0, 40);
            }
        }
    }

    @Test
    void etaZeroIsDeterministicAndDrawsNoNoise() {
        NoiseSchedule s = NoiseSchedule.of(ScheduleConfig.ddpmDefault());
        try (PointerScope scope = new PointerScope()) {
            Tensor xT = Rng.of(9).randn(32, 2);
            NoiseSource forbidden = shape -> {
                throw new AssertionError("deterministic DDIM drew noise");
            };
            List<Step> steps = Steps.ddim(s, 20, TimestepSpacing.LEADING, 1, true);
            float[] a = Tensors.toFloats(DdimSampler.sample(IdealDenoiser.square(), xT, steps, forbidden,
                    DdimSampler.Options.deterministic(), StepListener.NONE));
            float[] b = Tensors.toFloats(DdimSampler.sample(IdealDenoiser.square(), xT, steps, forbidden,
                    DdimSampler.Options.deterministic(), StepListener.NONE));
            assertThat(a).containsExactly(b);
        }
    }

    @Test
    void optionsRejectBadValues() {
        assertThatThrownBy(() -> new DdimSampler.Options(-0.1, false, 1, false)).hasMessageContaining("eta");
        assertThatThrownBy(() -> new DdimSampler.Options(Double.NaN, false, 1, false)).hasMessageContaining("eta");
        assertThatThrownBy(() -> new DdimSampler.Options(0, true, 0, false)).hasMessageContaining("clip range");
    }
}
