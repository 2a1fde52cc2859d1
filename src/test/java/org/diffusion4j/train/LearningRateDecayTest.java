package org.diffusion4j.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

class LearningRateDecayTest {
    @Test
    void constantHoldsLinearAndCosineReachZeroAtTheLastStep() {
        for (long step : new long[] {0, 10, 60, 110, 500}) {
            assertThat(LearningRateDecay.CONSTANT.factor(step, 10, 110)).isEqualTo(1.0);
        }
        assertThat(LearningRateDecay.LINEAR.factor(10, 10, 110)).isEqualTo(1.0);
        assertThat(LearningRateDecay.LINEAR.factor(35, 10, 110)).isEqualTo(0.75);
        assertThat(LearningRateDecay.LINEAR.factor(110, 10, 110)).isEqualTo(0.0);
        assertThat(LearningRateDecay.COSINE.factor(10, 10, 110)).isEqualTo(1.0);
        assertThat(LearningRateDecay.COSINE.factor(60, 10, 110)).isCloseTo(0.5, within(1e-15));
        assertThat(LearningRateDecay.COSINE.factor(110, 10, 110)).isCloseTo(0.0, within(1e-15));
        // Past the end (a run read back at its last step) the rate stays at 0 rather than rising again.
        assertThat(LearningRateDecay.COSINE.factor(150, 10, 110)).isCloseTo(0.0, within(1e-15));
        // During the warm-up the factor is 1: the warm-up ramp is applied on top.
        assertThat(LearningRateDecay.LINEAR.factor(3, 10, 110)).isEqualTo(1.0);
    }

    @Test
    void parsesDiffusersNamesAndRefusesOthersListingTheChoices() {
        assertThat(LearningRateDecay.parse(" Cosine ")).isEqualTo(LearningRateDecay.COSINE);
        assertThat(LearningRateDecay.parse("linear")).isEqualTo(LearningRateDecay.LINEAR);
        assertThat(LearningRateDecay.parse("constant").toString()).isEqualTo("constant");
        assertThatThrownBy(() -> LearningRateDecay.parse("step")).hasMessageContaining("'step'")
                .hasMessageContaining("constant, linear or cosine");
    }
}
