package org.diffusion4j.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class StartOptionsTest {
    private static StartOptions parse(String... args) {
        StartOptions o = new StartOptions();
        new CommandLine(o).parseArgs(args);
        return o;
    }

    @Test
    void givesNoFilesWithoutOptionsAndDiffusersDefaultStrengths() {
        assertThat(parse().files()).isNull();
        assertThat(parse("--init-image", "a.png").files().strengthOrDefault()).isEqualTo(0.8);
        Runs.InitFiles paint = parse("--init-image", "a.png", "--mask", "m.png").files();
        assertThat(paint.strengthOrDefault()).isEqualTo(1.0);
        assertThat(paint.mask()).isEqualTo(Path.of("m.png"));
        assertThat(parse("--init-image", "a.png", "--mask", "m.png", "--strength", "0.4").files().strengthOrDefault())
                .isEqualTo(0.4);
    }

    @Test
    void aMaskOrStrengthWithoutAnImageIsRefusedByName() {
        assertThatThrownBy(() -> parse("--mask", "m.png").files()).hasMessage("--mask needs --init-image");
        assertThatThrownBy(() -> parse("--strength", "0.5").files()).hasMessage("--strength needs --init-image");
    }
}
