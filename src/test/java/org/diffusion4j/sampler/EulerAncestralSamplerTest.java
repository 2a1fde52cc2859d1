package org.diffusion4j.sampler;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.diffusion4j.schedule.NoiseLevel;
import org.diffusion4j.tensor.Rng;
import org.junit.jupiter.api.Test;

class EulerAncestralSamplerTest {
    @Test
    void samplesTheRightDistributionAsStepsGrow() {
        try (PointerScope scope = new PointerScope()) {
            GaussianDenoiser g = new GaussianDenoiser(0.5);
            double[] std = new double[2];
            for (int k = 0; k < 2; k++) {
                Tensor out = EulerAncestralSampler.sample(g, Rng.of(3).randn(20000, 1), GaussianDenoiser.levels(
                        k == 0 ? 50 : 200), NoiseSource.of(Rng.of(4)), StepListener.NONE);
                std[k] = out.std().item_double();
            }
            // Gaussian data: the samples' std must approach c = 0.5 (ancestral steps lose variance at first order;
            // sampling error is ~0.5%).
            assertThat(std[1]).isBetween(0.475, 0.51);
            assertThat(Math.abs(std[1] - 0.5)).isLessThan(Math.abs(std[0] - 0.5) / 2);
        }
    }

    @Test
    void landsOnThePointsAndDependsOnTheNoise() {
        try (PointerScope scope = new PointerScope()) {
            List<NoiseLevel> levels = GaussianDenoiser.levels(40);
            Tensor xT = Rng.of(2).randn(400, 2);
            Tensor a = EulerAncestralSampler.sample(IdealDenoiser.square(), xT, levels, NoiseSource.of(Rng.of(5)),
                    StepListener.NONE);
            IdealDenoiser.square().assertOnPoints(a, 0.02);
            IdealDenoiser.square().assertCoversAllPoints(a, 40);
            Tensor b = EulerAncestralSampler.sample(IdealDenoiser.square(), xT, levels, NoiseSource.of(Rng.of(6)),
                    StepListener.NONE);
            assertThat(GaussianDenoiser.maxError(a, b)).as("different noise, different samples").isGreaterThan(0.5);
        }
    }
}
