package org.diffusion4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import org.diffusion4j.sampling.SamplerSpec;
import org.diffusion4j.schedule.DiffusionProcess;
import org.diffusion4j.schedule.NoiseSchedule;
import org.diffusion4j.schedule.ScheduleConfig;
import org.diffusion4j.schedule.TimeSampling;
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
        NoiseSchedule s = NoiseSchedule.of(ScheduleConfig.ddpmDefault());
        DiffusionProcess ddpm = new DiffusionProcess.Ddpm(s);
        DiffusionProcess flow = new DiffusionProcess.Flow(s, TimeSampling.UNIFORM);
        SamplerSpec pixels = parse().toSpec(true, ddpm);
        SamplerSpec latents = parse().toSpec(true, ddpm, true);
        assertThat(pixels.kind()).isEqualTo(latents.kind()).isEqualTo(SamplerSpec.Kind.DPMPP_3M_SDE);
        assertThat(pixels.steps()).isEqualTo(latents.steps()).isEqualTo(30);
        assertThat(pixels.clip()).isTrue();
        assertThat(latents.clip()).isFalse();
        assertThat(parse("--clip").toSpec(true, ddpm, true).clip()).isTrue();
        SamplerSpec points = parse().toSpec(false, ddpm);
        assertThat(points.kind()).isEqualTo(SamplerSpec.Kind.DDPM);
        assertThat(points.clip()).isFalse();
        assertThat(parse().toSpec(true, flow).kind()).isEqualTo(SamplerSpec.Kind.DPMPP_3M_SDE);
        SamplerSpec flowPoints = parse().toSpec(false, flow);
        assertThat(flowPoints.kind()).isEqualTo(SamplerSpec.Kind.EULER);
        assertThat(flowPoints.steps()).isEqualTo(50);
        assertThat(points.steps()).as("every training step").isZero();
    }
}
