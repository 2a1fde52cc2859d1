package org.diffusion4j.pipeline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.diffusion4j.sampler.DdpmSampler;
import org.diffusion4j.schedule.NoiseSchedule;
import org.diffusion4j.schedule.ScheduleConfig;
import org.diffusion4j.schedule.TimestepSpacing;
import org.junit.jupiter.api.Test;

class SamplerSpecTest {
    private final NoiseSchedule s = NoiseSchedule.of(ScheduleConfig.ddpmDefault());

    @Test
    void zeroStepsMeansEveryTrainingStep() {
        assertThat(SamplerSpec.ddpmFull().stepsFor(s)).hasSize(1000);
        SamplerSpec ddim = new SamplerSpec(SamplerSpec.Kind.DDIM, 25, 0.3, TimestepSpacing.LINSPACE,
                DdpmSampler.Variance.FIXED_SMALL, false);
        assertThat(ddim.stepsFor(s)).hasSize(25);
        assertThat(ddim.stepsFor(s).get(24).alphaBarPrev()).as("set_alpha_to_one").isEqualTo(1.0);
    }

    @Test
    void rejectsBadValues() {
        assertThatThrownBy(() -> new SamplerSpec(SamplerSpec.Kind.DDIM, -1, 0, TimestepSpacing.LEADING,
                DdpmSampler.Variance.FIXED_SMALL, false)).hasMessageContaining("steps");
        assertThatThrownBy(() -> new SamplerSpec(SamplerSpec.Kind.DDIM, 10, 1.5, TimestepSpacing.LEADING,
                DdpmSampler.Variance.FIXED_SMALL, false)).hasMessageContaining("eta");
        SamplerSpec tooMany = new SamplerSpec(SamplerSpec.Kind.DDPM, 2000, 0, TimestepSpacing.LEADING,
                DdpmSampler.Variance.FIXED_SMALL, false);
        assertThatThrownBy(() -> tooMany.stepsFor(s)).hasMessageContaining("exceeds the model's 1000");
        assertThatThrownBy(() -> SamplerSpec.Kind.parse("euler")).hasMessageContaining("ddpm or ddim");
    }
}
