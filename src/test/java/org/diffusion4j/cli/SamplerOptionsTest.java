package org.diffusion4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import org.diffusion4j.sampling.SamplerSpec;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class SamplerOptionsTest {
    private static SamplerOptions parse(String... args) {
        SamplerOptions o = new SamplerOptions();
        new CommandLine(o).parseArgs(args);
        return o;
    }

    /** Pixel images live in [-1, 1] and are clamped there; latents are not (clamping them wrecks the samples). */
    @Test
    void clampsPredictionsForPixelImagesOnly() {
        SamplerSpec pixels = parse().toSpec(true, false);
        SamplerSpec latents = parse().toSpec(true, false, true);
        assertThat(pixels.kind()).isEqualTo(latents.kind()).isEqualTo(SamplerSpec.Kind.DDIM);
        assertThat(pixels.steps()).isEqualTo(latents.steps()).isEqualTo(50);
        assertThat(pixels.clip()).isTrue();
        assertThat(latents.clip()).isFalse();
        assertThat(parse("--clip").toSpec(true, false, true).clip()).isTrue();
        SamplerSpec points = parse().toSpec(false, false);
        assertThat(points.kind()).isEqualTo(SamplerSpec.Kind.DDPM);
        assertThat(points.clip()).isFalse();
        assertThat(parse().toSpec(true, true).kind()).isEqualTo(SamplerSpec.Kind.EULER);
    }
}
