package org.diffusion4j.schedule;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class BetaScheduleTest {
    @Test
    void parsesDiffusersNamesAndAliases() {
        assertThat(BetaSchedule.parse("scaled_linear")).isEqualTo(BetaSchedule.SCALED_LINEAR);
        assertThat(BetaSchedule.parse("Scaled-Linear")).isEqualTo(BetaSchedule.SCALED_LINEAR);
        assertThat(BetaSchedule.parse("cosine")).isEqualTo(BetaSchedule.SQUAREDCOS_CAP_V2);
        assertThat(BetaSchedule.SIGMOID.toString()).isEqualTo("sigmoid");
        assertThatThrownBy(() -> BetaSchedule.parse("quadratic")).hasMessageContaining("squaredcos_cap_v2");
    }
}
