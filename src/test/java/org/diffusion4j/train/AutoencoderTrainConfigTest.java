package org.diffusion4j.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class AutoencoderTrainConfigTest {
    @Test
    void rejectsNonsenseAndWarmsUpLinearly() {
        assertThatThrownBy(() -> new AutoencoderTrainConfig(0, 32, 1e-3, 0, 1, 0, 0)).hasMessageContaining("steps");
        assertThatThrownBy(() -> new AutoencoderTrainConfig(1, 0, 1e-3, 0, 1, 0, 0)).hasMessageContaining("batch");
        assertThatThrownBy(() -> new AutoencoderTrainConfig(1, 1, Double.NaN, 0, 1, 0, 0))
                .hasMessageContaining("learning rate");
        assertThatThrownBy(() -> new AutoencoderTrainConfig(1, 1, 1e-3, 0, 1, -1, 0)).hasMessageContaining("KL");
        assertThat(new AutoencoderTrainConfig(10, 1, 1e-3, 4, 1, 0, 0).learningRateAt(1)).isEqualTo(5e-4);
    }
}
