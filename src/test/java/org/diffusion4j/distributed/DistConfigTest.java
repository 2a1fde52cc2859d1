package org.diffusion4j.distributed;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class DistConfigTest {
    private static DistConfig of(int world, int rank, String host, int port) {
        return new DistConfig(world, rank, host, port, Duration.ofSeconds(5), DistConfig.DEFAULT_BUCKET_BYTES, null);
    }

    @Test
    void parsesHostAndPortIncludingBracketedIpv6() {
        assertThat(DistConfig.parseMaster("10.0.0.1:29500")).isEqualTo(new DistConfig.Endpoint("10.0.0.1", 29500));
        assertThat(DistConfig.parseMaster("[::1]:1234")).isEqualTo(new DistConfig.Endpoint("::1", 1234));
        assertThatThrownBy(() -> DistConfig.parseMaster("host")).hasMessageContaining("--master must be HOST:PORT");
        assertThatThrownBy(() -> DistConfig.parseMaster("host:x")).hasMessageContaining("port must be a number");
        assertThatThrownBy(() -> DistConfig.parseMaster("host:70000")).hasMessageContaining("[1, 65535]");
        assertThatThrownBy(() -> DistConfig.parseMaster(null)).hasMessageContaining("--master is required");
    }

    @Test
    void refusesRanksOutsideTheWorldAndAMissingMaster() {
        assertThatThrownBy(() -> of(2, 2, "127.0.0.1", 1)).hasMessageContaining("--rank must be in [0, 2)");
        assertThatThrownBy(() -> of(0, 0, null, 0)).hasMessageContaining("--world-size must be >= 1");
        assertThatThrownBy(() -> of(2, 0, " ", 1)).hasMessageContaining("--master");
        assertThatThrownBy(() -> new DistConfig(2, 0, "h", 1, Duration.ZERO, 4096, null))
                .hasMessageContaining("--dist-timeout");
        assertThat(DistConfig.single().distributed()).isFalse();
        assertThat(of(2, 1, "h", 1).distributed()).isTrue();
    }

    @Test
    void knowsLoopbackMasters() {
        assertThat(of(2, 0, "127.0.0.1", 1).loopbackMaster()).isTrue();
        assertThat(of(2, 0, "localhost", 1).loopbackMaster()).isTrue();
        assertThat(of(2, 0, "10.1.2.3", 1).loopbackMaster()).isFalse();
    }
}
