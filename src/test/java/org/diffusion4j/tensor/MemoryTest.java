package org.diffusion4j.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.management.OperatingSystemMXBean;
import java.lang.management.ManagementFactory;
import org.junit.jupiter.api.Test;

class MemoryTest {
    @Test
    void availableMemoryIsPositiveAndBelowThePhysicalTotal() {
        long total = ((OperatingSystemMXBean) ManagementFactory
                .getOperatingSystemMXBean()).getTotalMemorySize();
        assertThat(Memory.available()).isPositive().isLessThanOrEqualTo(total);
    }

    @Test
    void refusesWhatCannotFitNamingBothAmountsAndTheRemedy() {
        Memory.require(1 << 20, "a small thing", null);
        assertThatThrownBy(() -> Memory.require(1L << 50, "loading x.safetensors", "lower --batch-size"))
                .hasMessageStartingWith("loading x.safetensors needs about 1.0 PiB of memory but ")
                .hasMessageEndingWith(" is available; lower --batch-size");
        assertThatThrownBy(() -> Memory.require(Long.MAX_VALUE, "w", null)).hasMessageContaining("more than 8 EiB");
    }

    @Test
    void formatsBytesInBinaryUnits() {
        assertThat(Memory.format(512)).isEqualTo("512 B");
        assertThat(Memory.format(1536)).isEqualTo("1.5 KiB");
        assertThat(Memory.format(3L << 30)).isEqualTo("3.0 GiB");
        assertThat(Memory.format(200L << 20)).isEqualTo("200 MiB");
    }
}
