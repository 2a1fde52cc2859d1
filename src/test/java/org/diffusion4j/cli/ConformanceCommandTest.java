package org.diffusion4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.diffusion4j.testing.Shared;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConformanceCommandTest {
    @TempDir
    Path dir;

    @Test
    void passesEverySharedCase() {
        MainTest.Run r = MainTest.run("conformance", Shared.diffusers().toString());
        assertThat(r.code()).as(r.out() + r.err()).isZero();
        assertThat(r.out()).contains("sched_25_pndm_prk_linear_vpred.json", "unet_b_class.json")
                .endsWith("27 passed, 0 failed" + System.lineSeparator());
        assertThat(r.out().lines().filter(l -> l.startsWith("ok "))).hasSize(27);
    }

    @Test
    void worksOnAnyFolderAndFailsLoudly() throws IOException {
        Files.copy(Shared.diffusers().resolve("sched_21_flowmatch_shift1.json"), dir.resolve("a.json"));
        Files.writeString(dir.resolve("b.json"), "{\"kind\": \"scheduler\", \"scheduler\": \"KarrasVeScheduler\"}");
        MainTest.Run r = MainTest.run("conformance", dir.toString());
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.out()).contains("ok   a.json", "FAIL b.json", "scheduler class 'KarrasVeScheduler' is not supported",
                "1 passed, 1 failed");
        MainTest.Run missing = MainTest.run("conformance", dir.resolve("nope").toString());
        assertThat(missing.code()).isEqualTo(1);
        assertThat(missing.err()).contains("nope: not a folder of conformance cases");
    }
}
