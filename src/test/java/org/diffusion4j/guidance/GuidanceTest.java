package org.diffusion4j.guidance;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class GuidanceTest {
    @Test
    void guidanceSettingsAreValidated() {
        assertThatThrownBy(() -> new Guidance(2, 1.5, 0, 1)).hasMessageContaining("rescale must be in [0, 1]");
        assertThatThrownBy(() -> new Guidance(2, 0, 2, 1)).hasMessageContaining("0 <= low < high");
        assertThatThrownBy(() -> new Guidance(2, 0, -1, 1)).hasMessageContaining("0 <= low < high");
        assertThat(new Guidance(2, 0.7, 0.28, 5.42).toString()).isEqualTo("2.0, rescale 0.7, sigma in (0.28, 5.42]");
        assertThat(Guidance.of(3).toString()).isEqualTo("3.0");
    }

    @Test
    void theIntervalIsOpenBelowAndClosedAboveInSigmaOverAlpha() {
        Guidance g = new Guidance(2, 0, 1, 2);
        assertThat(g.activeAt(1, 1)).isFalse();
        assertThat(g.activeAt(1, 2)).isTrue();
        assertThat(g.activeAt(1, 1.5)).isTrue();
        assertThat(g.activeAt(1, 2.01)).isFalse();
    }
}
