package org.diffusion4j.serve;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

class ServeConfigTest {
    @Test
    void defaultsAreLoopback() {
        ServeConfig c = ServeConfig.localDefaults(0);
        assertThat(c.host()).isEqualTo("127.0.0.1");
        assertThat(c.httpThreads()).isGreaterThan(c.queueCapacity());
    }

    @Test
    void rejectsLimitsThatMakeNoSense() {
        assertThatThrownBy(() -> new ServeConfig("", 0, List.of(), 10, 1, 1, 1, 1, 16, 8)).hasMessageContaining("--host");
        assertThatThrownBy(() -> new ServeConfig("127.0.0.1", 70000, List.of(), 10, 1, 1, 1, 1, 16, 8))
                .hasMessageContaining("--port");
        assertThatThrownBy(() -> new ServeConfig("127.0.0.1", 0, List.of(), 0, 1, 1, 1, 1, 16, 8))
                .hasMessageContaining("--max-steps must be >= 1");
        assertThatThrownBy(() -> new ServeConfig("127.0.0.1", 0, List.of(), 10, 0, 1, 1, 1, 16, 8))
                .hasMessageContaining("--max-batch");
        assertThatThrownBy(() -> new ServeConfig("127.0.0.1", 0, List.of(), 10, 1, 1, -1, 1, 16, 8))
                .hasMessageContaining("--queue");
        assertThatThrownBy(() -> new ServeConfig("127.0.0.1", 0, List.of(), 10, 1, 1, 20, 1, 16, 8))
                .hasMessageContaining("--http-threads must be >= 24");
        assertThatThrownBy(() -> new ServeConfig("127.0.0.1", 0, List.of(), 10, 1000, 1, 1, 1, 16, 8))
                .hasMessageContaining("--max-batch <= 256");
        assertThatThrownBy(() -> new ServeConfig("127.0.0.1", 0, List.of(), 10, 1, 1, 1, 1, 16, 0))
                .hasMessageContaining("--per-client must be >= 1");
        assertThatThrownBy(() -> new ServeConfig("127.0.0.1", 0, List.of(), 10, 1, 1, 1, 1, 16, 17))
                .hasMessage("--per-client 17 must not exceed the 16 requests handled at once");
    }
}
