package org.diffusion4j.schedule;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import org.diffusion4j.testing.Shared;
import org.junit.jupiter.api.Test;

class TimestepSpacingTest {
    @Test
    void matchesDiffusersDdpmAndDdimTimesteps() {
        int checked = 0;
        for (Path file : Shared.schedulerCases("DDPMScheduler", "DDIMScheduler")) {
            JsonNode c = Shared.read(file);
            JsonNode full = c.get("full_config");
            TimestepSpacing spacing = TimestepSpacing.parse(full.get("timestep_spacing").asText());
            int[] ts = spacing.timesteps(full.get("num_train_timesteps").asInt(), c.get("num_inference_steps").asInt(),
                    full.get("steps_offset").asInt());
            long[] expected = Shared.longs(c.get("timesteps"));
            assertThat(ts).as(file.getFileName().toString()).hasSize(expected.length);
            for (int i = 0; i < ts.length; i++) {
                assertThat((long) ts[i]).as("%s timestep %d", file.getFileName(), i).isEqualTo(expected[i]);
            }
            checked++;
        }
        assertThat(checked).isEqualTo(8);
    }

    @Test
    void knownSpacings() {
        assertThat(TimestepSpacing.LEADING.timesteps(1000, 4, 1)).containsExactly(751, 501, 251, 1);
        assertThat(TimestepSpacing.TRAILING.timesteps(1000, 4, 0)).containsExactly(999, 749, 499, 249);
        assertThat(TimestepSpacing.LINSPACE.timesteps(1000, 4, 0)).containsExactly(999, 666, 333, 0);
        assertThat(TimestepSpacing.LINSPACE.timesteps(10, 1, 0)).containsExactly(0);
    }

    @Test
    void rejectsBadCounts() {
        assertThatThrownBy(() -> TimestepSpacing.LEADING.timesteps(100, 0, 0)).hasMessageContaining("[1, 100]");
        assertThatThrownBy(() -> TimestepSpacing.LEADING.timesteps(100, 101, 0)).hasMessageContaining("[1, 100]");
        assertThatThrownBy(() -> TimestepSpacing.LEADING.timesteps(100, 100, 1)).hasMessageContaining("steps_offset");
        assertThatThrownBy(() -> TimestepSpacing.parse("random")).hasMessageContaining("leading");
    }
}
