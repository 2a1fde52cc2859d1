package org.diffusion4j.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.diffusion4j.model.Parameterization;
import org.diffusion4j.schedule.DiffusionProcess;
import org.diffusion4j.schedule.NoiseSchedule;
import org.diffusion4j.schedule.ScheduleConfig;
import org.diffusion4j.schedule.TimeSampling;
import org.junit.jupiter.api.Test;

class TrainConfigTest {
    private static TrainConfig with(double lr, int batch, double clip, Parameterization p) {
        return new TrainConfig(10, batch, lr, 0, 0.9, 0.999, 1e-8, 0, clip, 0.99, 0, p, 0, false);
    }

    @Test
    void rejectsNonsenseWithTheFieldName() {
        assertThatThrownBy(() -> with(0, 8, 1, Parameterization.EPS)).hasMessageContaining("learning rate");
        assertThatThrownBy(() -> with(Double.NaN, 8, 1, Parameterization.EPS)).hasMessageContaining("learning rate");
        assertThatThrownBy(() -> with(-1e-3, 8, 1, Parameterization.EPS)).hasMessageContaining("learning rate");
        assertThatThrownBy(() -> with(1e-3, 0, 1, Parameterization.EPS)).hasMessageContaining("batch size");
        assertThatThrownBy(() -> with(1e-3, 8, -1, Parameterization.EPS)).hasMessageContaining("gradient clip");
        assertThat(with(1e-3, 8, 1, Parameterization.EPS).timeSampling()).isEqualTo(TimeSampling.UNIFORM);
        assertThatThrownBy(() -> new TrainConfig(10, 8, 1e-3, 0, 0.9, 0.999, 1e-8, 0, 1, 0.99, 5,
                Parameterization.FLOW, 0, false)).hasMessageContaining("min-SNR weighting is defined for the DDPM");
        assertThatThrownBy(() -> TrainConfig.toyDefaults().withSteps(0)).hasMessageContaining("steps");
    }

    /** The objective decides the process: flow matching's straight path, EDM's log-normal levels, else DDPM. */
    @Test
    void theObjectiveChoosesTheProcess() {
        NoiseSchedule s = NoiseSchedule.of(ScheduleConfig.ddpmDefault());
        assertThat(with(1e-3, 8, 1, Parameterization.FLOW).process(s)).isInstanceOf(DiffusionProcess.Flow.class);
        assertThat(with(1e-3, 8, 1, Parameterization.EDM).process(s)).isInstanceOf(DiffusionProcess.Edm.class);
        for (Parameterization p : new Parameterization[] {Parameterization.EPS, Parameterization.V,
                Parameterization.X0}) {
            assertThat(with(1e-3, 8, 1, p).process(s)).isEqualTo(new DiffusionProcess.Ddpm(s));
        }
    }

    @Test
    void warmupRampsLinearlyThenHolds() {
        TrainConfig c = new TrainConfig(1000, 8, 1e-3, 0, 0.9, 0.999, 1e-8, 100, 1, 0.99, 0, Parameterization.EPS, 0, false);
        assertThat(c.learningRateAt(0)).isEqualTo(1e-5);
        assertThat(c.learningRateAt(49)).isEqualTo(5e-4);
        assertThat(c.learningRateAt(99)).isEqualTo(1e-3);
        assertThat(c.learningRateAt(500)).isEqualTo(1e-3);
        assertThat(c.withSeed(7).seed()).isEqualTo(7);
        assertThat(c.lrDecay()).isEqualTo(LearningRateDecay.CONSTANT);
    }

    @Test
    void aDecayingRateWarmsUpThenFallsToZeroAtTheLastStep() {
        TrainConfig c = new TrainConfig(1100, 8, 1e-3, 0, 0.9, 0.999, 1e-8, 100, 1, 0.99, 0, Parameterization.EPS, 0,
                false, null, 0, 0.1, LearningRateDecay.COSINE);
        assertThat(c.learningRateAt(49)).isEqualTo(5e-4);
        assertThat(c.learningRateAt(100)).isEqualTo(1e-3);
        assertThat(c.learningRateAt(600)).isCloseTo(5e-4, org.assertj.core.data.Offset.offset(1e-12));
        assertThat(c.learningRateAt(1100)).isCloseTo(0, org.assertj.core.data.Offset.offset(1e-12));
        assertThat(c.learningRateAt(350)).isGreaterThan(c.learningRateAt(351));
        assertThat(c.withSteps(2100).lrDecay()).isEqualTo(LearningRateDecay.COSINE);
    }
}
