package org.diffusion4j.sampler;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.diffusion4j.schedule.NoiseLevel;
import org.diffusion4j.schedule.NoiseSchedule;
import org.diffusion4j.schedule.ScheduleConfig;
import org.diffusion4j.schedule.TimestepSpacing;
import org.diffusion4j.tensor.Rng;
import org.junit.jupiter.api.Test;

class PndmSamplerTest {
    /** PRK midpoints halfway between consecutive levels of the default schedule. */
    private static List<PndmSampler.Midpoint> mids(List<NoiseLevel> levels, NoiseSchedule s) {
        List<PndmSampler.Midpoint> out = new ArrayList<>();
        for (int i = 0; i + 1 < levels.size(); i++) {
            int t = (int) Math.round((levels.get(i).timestep() + levels.get(i + 1).timestep()) / 2);
            NoiseLevel m = NoiseLevel.vp(t, s.alphaBar(t));
            out.add(new PndmSampler.Midpoint(m, m));
        }
        return out;
    }

    @Test
    void isFarMoreAccurateThanDdimAtTheSameSteps() {
        try (PointerScope scope = new PointerScope()) {
            NoiseSchedule s = NoiseSchedule.of(ScheduleConfig.ddpmDefault());
            GaussianDenoiser g = new GaussianDenoiser(0.5);
            Tensor xT = Rng.of(1).randn(256, 2).to(torch.ScalarType.Double);
            List<NoiseLevel> levels = Steps.levels(Steps.ddim(s, 20, TimestepSpacing.LEADING, 0, true));
            Tensor exact = g.exact(xT, levels.get(0));
            double euler = GaussianDenoiser.maxError(EulerSampler.sample(g, xT, levels, NoiseSource.of(Rng.of(1)),
                    EulerSampler.Options.deterministic(), StepListener.NONE), exact);
            for (boolean prk : new boolean[] {false, true}) {
                int[] evaluations = {0};
                Tensor out = PndmSampler.sample(g, xT, levels, mids(levels, s),
                        new PndmSampler.Options(prk, OutputKind.EPS), (i, n, xt, x0) -> evaluations[0] = n);
                assertThat(GaussianDenoiser.maxError(out, exact)).as("prk " + prk).isLessThan(euler / 10);
                assertThat(evaluations[0]).isEqualTo(prk ? 12 + 17 : 21);
            }
        }
    }

    @Test
    void combiningVInsteadOfEpsChangesTheResult() {
        try (PointerScope scope = new PointerScope()) {
            NoiseSchedule s = NoiseSchedule.of(ScheduleConfig.ddpmDefault());
            List<NoiseLevel> levels = Steps.levels(Steps.ddim(s, 10, TimestepSpacing.LEADING, 0, true));
            Tensor xT = Rng.of(2).randn(64, 2);
            Tensor eps = PndmSampler.sample(new GaussianDenoiser(0.5), xT, levels, mids(levels, s),
                    new PndmSampler.Options(true, OutputKind.EPS), StepListener.NONE);
            Tensor v = PndmSampler.sample(new GaussianDenoiser(0.5), xT, levels, mids(levels, s),
                    new PndmSampler.Options(true, OutputKind.V), StepListener.NONE);
            assertThat(GaussianDenoiser.maxError(eps, v)).isGreaterThan(1e-4);
        }
    }

    @Test
    void rejectsBadOptions() {
        assertThatThrownBy(() -> new PndmSampler.Options(false, OutputKind.X0)).hasMessageContaining("eps or v");
        try (PointerScope scope = new PointerScope()) {
            assertThatThrownBy(() -> PndmSampler.sample(new GaussianDenoiser(1), Rng.of(1).randn(2, 2),
                    GaussianDenoiser.levels(5), List.of(), new PndmSampler.Options(true, OutputKind.EPS),
                    StepListener.NONE)).hasMessageContaining("PRK needs a midpoint");
        }
    }
}
