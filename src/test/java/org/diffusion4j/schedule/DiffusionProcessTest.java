package org.diffusion4j.schedule;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.diffusion4j.tensor.Rng;
import org.diffusion4j.tensor.Tensors;
import org.diffusion4j.tensor.Torch;
import org.junit.jupiter.api.Test;

class DiffusionProcessTest {
    private final NoiseSchedule s = NoiseSchedule.of(ScheduleConfig.ddpmDefault());
    private final DiffusionProcess ddpm = new DiffusionProcess.Ddpm(s);
    private final DiffusionProcess flow = new DiffusionProcess.Flow(s, TimeSampling.UNIFORM);
    private final DiffusionProcess edm = new DiffusionProcess.Edm(s);

    /** A level between the steps is the model's own: VE sigma s maps back to s, with a time the network knows. */
    @Test
    void atVeRoundTripsOnEveryProcess() {
        double[] train = s.sigmas();
        for (double ve : new double[] {0.05, 1, 14.6, 70}) {
            for (DiffusionProcess p : List.of(ddpm, flow, edm)) {
                NoiseLevel l = p.atVe(ve);
                assertThat(l.sigma() / l.alpha()).isCloseTo(ve, within(1e-9 * ve));
                if (p == flow) {
                    assertThat(l.alpha() + l.sigma()).isCloseTo(1, within(1e-12));
                    assertThat(l.timestep()).isCloseTo(1000 * ve / (1 + ve), within(1e-9));
                } else {
                    assertThat(l.alpha() * l.alpha() + l.sigma() * l.sigma()).isCloseTo(1, within(1e-12));
                    double t = l.timestep();
                    assertThat(t).isBetween(0.0, 999.0);
                    if (ve >= train[0] && ve <= train[999]) {
                        int lo = (int) Math.floor(t);
                        assertThat(ve).isBetween(train[lo], train[Math.min(lo + 1, 999)]);
                    }
                }
            }
        }
        assertThat(ddpm.atVe(500).timestep()).as("above sigma_max: clamped").isEqualTo(999);
        assertThatThrownBy(() -> ddpm.atVe(0)).hasMessageContaining("VE sigma");
        assertThatThrownBy(() -> flow.atVe(Double.POSITIVE_INFINITY)).hasMessageContaining("VE sigma");
    }

    @Test
    void levelsRunFromNoiseToTheCleanEnd() {
        List<NoiseLevel> d = ddpm.levels(10, TimestepSpacing.TRAILING, false);
        assertThat(d).hasSize(11);
        assertThat(d.get(0).timestep()).isEqualTo(999);
        assertThat(d.get(0).alpha()).isCloseTo(Math.sqrt(s.alphaBar(999)), within(1e-15));
        assertThat(d.get(10)).isEqualTo(new NoiseLevel(0, 1, 0));
        assertThat(edm.levels(10, TimestepSpacing.TRAILING, false)).as("EDM samples on the schedule").isEqualTo(d);
        List<NoiseLevel> k = ddpm.levels(5, TimestepSpacing.TRAILING, true);
        double[] train = s.sigmas();
        assertThat(k.get(0).sigma() / k.get(0).alpha()).isCloseTo(train[999], within(1e-9));
        assertThat(k.get(4).sigma() / k.get(4).alpha()).isCloseTo(train[0], within(1e-12));
        List<NoiseLevel> f = flow.levels(4, TimestepSpacing.TRAILING, false);
        assertThat(f).containsExactly(new NoiseLevel(1000, 0, 1), new NoiseLevel(750, 0.25, 0.75),
                new NoiseLevel(500, 0.5, 0.5), new NoiseLevel(250, 0.75, 0.25), new NoiseLevel(0, 1, 0));
        assertThatThrownBy(() -> flow.levels(4, TimestepSpacing.TRAILING, true)).hasMessageContaining("--karras");
    }

    /** Each process draws where its training puts the levels, and always draws the same amount from the generator. */
    @Test
    void trainingDrawsFollowEachProcess() {
        Torch.init();
        try (PointerScope scope = new PointerScope()) {
            DiffusionProcess.Draw d = ddpm.draw(Rng.of(1), 4000);
            float[] t = Tensors.toFloats(d.time());
            float[] a = Tensors.toFloats(d.alpha());
            float[] sg = Tensors.toFloats(d.sigma());
            for (int i = 0; i < t.length; i++) {
                assertThat(t[i]).isEqualTo((float) Math.rint(t[i])).isBetween(0f, 999f);
                assertThat(a[i]).isEqualTo((float) Math.sqrt(s.alphaBar((int) t[i])));
                assertThat(sg[i]).isEqualTo((float) Math.sqrt(1 - s.alphaBar((int) t[i])));
            }
            DiffusionProcess.Draw f = flow.draw(Rng.of(1), 4000);
            float[] ft = Tensors.toFloats(f.sigma());
            float[] fa = Tensors.toFloats(f.alpha());
            float[] ftime = Tensors.toFloats(f.time());
            for (int i = 0; i < ft.length; i++) {
                assertThat(ft[i]).isBetween(0f, 1f);
                assertThat(fa[i]).isEqualTo(1f - ft[i]);
                assertThat(ftime[i]).isEqualTo(ft[i] * 1000f);
            }
            DiffusionProcess.Draw e = edm.draw(Rng.of(1), 4000);
            double[] logSigma = Tensors.toDoubles(e.sigma().log());
            double mean = java.util.Arrays.stream(logSigma).average().orElseThrow();
            double var = java.util.Arrays.stream(logSigma).map(v -> (v - mean) * (v - mean)).sum() / logSigma.length;
            assertThat(mean).isCloseTo(DiffusionProcess.Edm.P_MEAN, within(0.06));
            assertThat(Math.sqrt(var)).isCloseTo(DiffusionProcess.Edm.P_STD, within(0.05));
            assertThat(Tensors.toFloats(e.alpha())).containsOnly(1f);
            // The step's noise comes after the level: the same generator state whatever the process.
            for (DiffusionProcess p : List.of(ddpm, flow, edm)) {
                Rng r = Rng.of(9);
                p.draw(r, 8);
                Rng again = Rng.of(9);
                p.draw(again, 8);
                assertThat(Tensors.toFloats(r.randn(4))).containsExactly(Tensors.toFloats(again.randn(4)));
            }
        }
    }
}
