package org.diffusion4j.sampler;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.diffusion4j.schedule.NoiseSchedule;
import org.diffusion4j.schedule.ScheduleConfig;
import org.diffusion4j.schedule.TimestepSpacing;
import org.junit.jupiter.api.Test;

class StepsTest {
    private final NoiseSchedule s = NoiseSchedule.of(ScheduleConfig.ddpmDefault());

    @Test
    void ddpmStepsChainToTheNextTimestepAndEndAtOne() {
        List<Step> steps = Steps.ddpm(s, 4, TimestepSpacing.TRAILING, 0);
        assertThat(steps).extracting(Step::timestep).containsExactly(999.0, 749.0, 499.0, 249.0);
        assertThat(steps.get(0).alphaBarPrev()).isEqualTo(s.alphaBar(749));
        assertThat(steps.get(3).alphaBarPrev()).isEqualTo(1.0);
        assertThat(Steps.full(s)).hasSize(1000).first().extracting(Step::timestep).isEqualTo(999.0);
    }

    @Test
    void ddimStepsGoBackTOverNAndHonourSetAlphaToOne() {
        List<Step> linspace = Steps.ddim(s, 4, TimestepSpacing.LINSPACE, 0, false);
        assertThat(linspace).extracting(Step::timestep).containsExactly(999.0, 666.0, 333.0, 0.0);
        // t - T/N = 999 - 250, not the next listed timestep.
        assertThat(linspace.get(0).alphaBarPrev()).isEqualTo(s.alphaBar(749));
        assertThat(linspace.get(3).alphaBarPrev()).isEqualTo(s.alphaBar(0));
        assertThat(Steps.ddim(s, 4, TimestepSpacing.LINSPACE, 0, true).get(3).alphaBarPrev()).isEqualTo(1.0);
    }

    @Test
    void stepRejectsLevelsOutOfOrder() {
        assertThatThrownBy(() -> new Step(5, 0.5, 0.4)).hasMessageContaining("alpha-bar_prev");
        assertThatThrownBy(() -> new Step(5, 1.0, 1.0)).hasMessageContaining("alpha-bar must be");
    }
}
