package org.diffusion4j.sampler;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.diffusion4j.schedule.NoiseSchedule;
import org.diffusion4j.schedule.ScheduleConfig;
import org.diffusion4j.schedule.TimestepSpacing;
import org.diffusion4j.tensor.Rng;
import org.diffusion4j.tensor.Tensors;
import org.diffusion4j.testing.Shared;
import org.junit.jupiter.api.Test;

class DdimSamplerTest {
    private static final double TOL = 2e-5;

    private static List<Step> steps(DiffusersCase c) {
        return Steps.ddim(c.schedule, c.numInference(), c.spacing(), c.config.get("steps_offset").asInt(),
                c.config.get("set_alpha_to_one").asBoolean());
    }

    private static DdimSampler.Options options(DiffusersCase c) {
        double eta = c.json.get("eta").isNull() ? 0 : c.json.get("eta").asDouble();
        return new DdimSampler.Options(eta, c.config.get("clip_sample").asBoolean(),
                c.config.get("clip_sample_range").asDouble(), false);
    }

    @Test
    void replaysEveryRecordedDiffusersStep() {
        List<Path> files = Shared.schedulerCases("DDIMScheduler");
        assertThat(files).hasSize(4);
        for (Path f : files) {
            DiffusersCase c = new DiffusersCase(f);
            List<Step> steps = steps(c);
            double worst = 0;
            for (int i = 0; i < steps.size(); i++) {
                try (PointerScope scope = new PointerScope()) {
                    Tensor xi = i == 0 ? c.initialSample() : c.tensor(c.steps.get(i - 1).get("prev_sample"));
                    double[][] x0 = new double[1][];
                    Tensor next = DdimSampler.sample(c.recordedModel(i), xi, steps.subList(i, i + 1),
                            c.recordedNoise(i, i + 1), options(c), (k, n, xt, p) -> x0[0] = Tensors.toDoubles(p));
                    worst = Math.max(worst, Shared.maxRelError(Tensors.toDoubles(next),
                            c.values(c.steps.get(i).get("prev_sample"))));
                    worst = Math.max(worst, Shared.maxRelError(x0[0], c.values(c.steps.get(i).get("pred_original_sample"))));
                }
            }
            System.out.printf("%s per-step replay max rel error %.2e%n", c.name(), worst);
            assertThat(worst).as(c.name() + " per-step replay error").isLessThanOrEqualTo(TOL);
        }
    }

    @Test
    void closedLoopMatchesEveryRecordedTrajectory() {
        for (Path f : Shared.schedulerCases("DDIMScheduler")) {
            DiffusersCase c = new DiffusersCase(f);
            try (PointerScope scope = new PointerScope()) {
                List<double[]> trajectory = new ArrayList<>();
                Tensor out = DdimSampler.sample(c.fakeModel(), c.initialSample(), steps(c),
                        c.recordedNoise(0, c.steps.size()), options(c), (k, n, xt, p) -> trajectory.add(Tensors.toDoubles(xt)));
                trajectory.add(Tensors.toDoubles(out));
                double worst = 0;
                for (int i = 0; i < c.steps.size(); i++) {
                    worst = Math.max(worst, Shared.maxRelError(trajectory.get(i + 1),
                            c.values(c.steps.get(i).get("prev_sample"))));
                }
                System.out.printf("%s closed-loop max rel error %.2e%n", c.name(), worst);
                assertThat(worst).as(c.name() + " closed-loop error").isLessThanOrEqualTo(TOL);
            }
        }
    }

    @Test
    void idealDenoiserOfAPointSetReproducesThePoints() {
        NoiseSchedule s = NoiseSchedule.of(ScheduleConfig.ddpmDefault());
        try (PointerScope scope = new PointerScope()) {
            IdealDenoiser ideal = IdealDenoiser.square();
            Tensor xT = Rng.of(3).randn(400, 2);
            for (double eta : new double[] {0, 0.5, 1}) {
                Tensor x0 = DdimSampler.sample(ideal, xT, Steps.ddim(s, 50, TimestepSpacing.TRAILING, 0, true),
                        NoiseSource.of(Rng.of(4)), new DdimSampler.Options(eta, false, 1, false), StepListener.NONE);
                ideal.assertOnPoints(x0, 0.02);
                ideal.assertCoversAllPoints(x0, 40);
            }
        }
    }

    @Test
    void etaZeroIsDeterministicAndDrawsNoNoise() {
        NoiseSchedule s = NoiseSchedule.of(ScheduleConfig.ddpmDefault());
        try (PointerScope scope = new PointerScope()) {
            Tensor xT = Rng.of(9).randn(32, 2);
            NoiseSource forbidden = shape -> {
                throw new AssertionError("deterministic DDIM drew noise");
            };
            List<Step> steps = Steps.ddim(s, 20, TimestepSpacing.LEADING, 1, true);
            float[] a = Tensors.toFloats(DdimSampler.sample(IdealDenoiser.square(), xT, steps, forbidden,
                    DdimSampler.Options.deterministic(), StepListener.NONE));
            float[] b = Tensors.toFloats(DdimSampler.sample(IdealDenoiser.square(), xT, steps, forbidden,
                    DdimSampler.Options.deterministic(), StepListener.NONE));
            assertThat(a).containsExactly(b);
        }
    }

    @Test
    void optionsRejectBadValues() {
        assertThatThrownBy(() -> new DdimSampler.Options(-0.1, false, 1, false)).hasMessageContaining("eta");
        assertThatThrownBy(() -> new DdimSampler.Options(Double.NaN, false, 1, false)).hasMessageContaining("eta");
        assertThatThrownBy(() -> new DdimSampler.Options(0, true, 0, false)).hasMessageContaining("clip range");
    }
}
