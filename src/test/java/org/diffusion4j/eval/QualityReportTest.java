package org.diffusion4j.eval;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.diffusion4j.data.ToyDataset;
import org.diffusion4j.model.NetworkDenoiser;
import org.diffusion4j.model.Parameterization;
import org.diffusion4j.model.mlp.MlpConfig;
import org.diffusion4j.model.mlp.MlpNet;
import org.diffusion4j.run.RunSpec;
import org.diffusion4j.sampling.Generation;
import org.diffusion4j.sampling.SamplerSpec;
import org.diffusion4j.schedule.DiffusionProcess;
import org.diffusion4j.schedule.NoiseSchedule;
import org.diffusion4j.schedule.ScheduleConfig;
import org.diffusion4j.tensor.Rng;
import org.junit.jupiter.api.Test;
import static org.assertj.core.api.Assertions.assertThat;

class QualityReportTest {
    /** The bound the default run must meet (asserted in the CLI's end-to-end test). */
    static boolean meetsDefaultRunBound(QualityReport r) {
        return r.swd() <= 1.5 * r.swdFloor() && r.mmd() <= 0.005;
    }

    @Test
    void freshDataMeetsTheBoundAndAnUntrainedModelFailsIt() {
        try (PointerScope scope = new PointerScope()) {
            QualityReport real = QualityReport.of(ToyDataset.SWISS_ROLL.sample(2000, Rng.of(77)), ToyDataset.SWISS_ROLL);
            assertThat(meetsDefaultRunBound(real)).as(real.toString()).isTrue();
            assertThat(real.swdFloor()).isBetween(0.02, 0.12);

            // The default run's model and sampler with untrained weights.
            RunSpec spec = RunSpec.swissRollDemo();
            NetworkDenoiser untrained = new NetworkDenoiser(spec.model().build(Rng.of(0)), Parameterization.EPS);
            Tensor samples = Generation.sample(untrained, new DiffusionProcess.Ddpm(NoiseSchedule.of(ScheduleConfig.ddpmDefault())),
                    SamplerSpec.ddpmFull(), new long[] {2}, 2000, 0, 2000, () -> { });
            QualityReport bad = QualityReport.of(samples, ToyDataset.SWISS_ROLL);
            assertThat(meetsDefaultRunBound(bad)).as(bad.toString()).isFalse();
            assertThat(bad.swd()).isGreaterThan(3 * bad.swdFloor());
            assertThat(bad.toString()).contains("sliced-W2", "real-data floor", "MMD^2");
        }
    }
}
