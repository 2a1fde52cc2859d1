package org.diffusion4j.sampler;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.diffusion4j.model.Denoiser;
import org.diffusion4j.model.NetworkDenoiser;
import org.diffusion4j.model.Parameterization;
import org.diffusion4j.model.Prediction;
import org.diffusion4j.model.mlp.MlpConfig;
import org.diffusion4j.model.mlp.MlpNet;
import org.diffusion4j.schedule.NoiseSchedule;
import org.diffusion4j.schedule.ScheduleConfig;
import org.diffusion4j.schedule.TimestepSpacing;
import org.diffusion4j.tensor.Rng;
import org.diffusion4j.tensor.Tensors;
import org.diffusion4j.tensor.Torch;
import org.diffusion4j.testing.Rss;
import org.junit.jupiter.api.Test;

class DdpmSamplerTest {
    private static DdpmSampler.Options options(DiffusersCase c) {
        return new DdpmSampler.Options(DdpmSampler.Variance.parse(c.config.get("variance_type").asText()),
                c.config.get("clip_sample").asBoolean(), c.config.get("clip_sample_range").asDouble());
    }

    private static DiffusersCase.Sampler sampler(DiffusersCase c) {
        return (model, xT, steps, noise, listener) -> DdpmSampler.sample(model, xT, steps, noise, options(c), listener);
    }

    @Test
    void matchesEveryRecordedDiffusersTrajectoryStepByStepAndClosedLoop() {
        DiffusersCase.assertConforms("DDPMScheduler", 4, c -> Steps.ddpm(c.schedule, c.numInference(), c.spacing(), c.config.get("steps_offset").asInt()), DdpmSamplerTest::sampler);
    }

    @Test
    void idealDenoiserOfAPointSetReproducesThePoints() {
        NoiseSchedule s = NoiseSchedule.of(ScheduleConfig.ddpmDefault());
        try (PointerScope scope = new PointerScope()) {
            IdealDenoiser ideal = IdealDenoiser.square();
            Tensor xT = Rng.of(3).randn(400, 2);
            for (DdpmSampler.Variance v : List.of(DdpmSampler.Variance.FIXED_SMALL, DdpmSampler.Variance.FIXED_LARGE)) {
                Tensor x0 = DdpmSampler.sample(ideal, xT, Steps.full(s), NoiseSource.of(Rng.of(4)),
                        new DdpmSampler.Options(v, false, 1), StepListener.NONE);
                ideal.assertOnPoints(x0, 0.02);
                ideal.assertCoversAllPoints(x0, 40);
            }
            // 100 of the 1000 steps still land on the points.
            Tensor few = DdpmSampler.sample(ideal, xT, Steps.ddpm(s, 100, TimestepSpacing.TRAILING, 0),
                    NoiseSource.of(Rng.of(4)), DdpmSampler.Options.defaults(), StepListener.NONE);
            ideal.assertOnPoints(few, 0.02);
        }
    }

    @Test
    void sameSeedSameSamplesDifferentSeedDifferentSamples() {
        NoiseSchedule s = NoiseSchedule.of(ScheduleConfig.ddpmDefault());
        try (PointerScope scope = new PointerScope()) {
            IdealDenoiser ideal = IdealDenoiser.square();
            List<Step> steps = Steps.ddpm(s, 50, TimestepSpacing.LEADING, 0);
            Tensor xT = Rng.of(1).randn(8, 2);
            float[] a = Tensors.toFloats(DdpmSampler.sample(ideal, xT, steps, NoiseSource.of(Rng.of(2)),
                    DdpmSampler.Options.defaults(), StepListener.NONE));
            float[] b = Tensors.toFloats(DdpmSampler.sample(ideal, xT, steps, NoiseSource.of(Rng.of(2)),
                    DdpmSampler.Options.defaults(), StepListener.NONE));
            float[] c = Tensors.toFloats(DdpmSampler.sample(ideal, xT, steps, NoiseSource.of(Rng.of(3)),
                    DdpmSampler.Options.defaults(), StepListener.NONE));
            assertThat(a).containsExactly(b);
            assertThat(a).isNotEqualTo(c);
            assertThat(Tensors.toFloats(xT)).as("input untouched").containsExactly(Tensors.toFloats(Rng.of(1).randn(8, 2)));
        }
    }

    @Test
    void clippingBoundsThePredictedX0SeenByTheListener() {
        NoiseSchedule s = NoiseSchedule.of(ScheduleConfig.ddpmDefault());
        try (PointerScope scope = new PointerScope()) {
            double[] maxAbs = {0};
            DdpmSampler.sample((x, level) -> new Prediction(x.mul(Tensors.scalar(10)), x),
                    Rng.of(1).randn(16, 2), Steps.ddpm(s, 10, TimestepSpacing.LEADING, 0), NoiseSource.of(Rng.of(2)),
                    new DdpmSampler.Options(DdpmSampler.Variance.FIXED_SMALL, true, 1.0),
                    (k, n, xt, x0) -> maxAbs[0] = Math.max(maxAbs[0], x0.abs().max().item_double()));
            assertThat(maxAbs[0]).isLessThanOrEqualTo(1.0).isGreaterThan(0.5);
        }
    }

    @Test
    void nativeMemoryStaysFlatOverHundredsOfSamplerSteps() {
        NoiseSchedule s = NoiseSchedule.of(ScheduleConfig.ddpmDefault());
        try (PointerScope scope = new PointerScope()) {
            Denoiser model = new NetworkDenoiser(
                    new MlpNet(MlpConfig.toy2d(), Rng.of(0)),
                    Parameterization.EPS);
            Tensor xT = Rng.of(1).randn(2000, 2);
            DdpmSampler.sample(model, xT, Steps.ddpm(s, 100, TimestepSpacing.LEADING, 0), NoiseSource.of(Rng.of(2)),
                    DdpmSampler.Options.defaults(), StepListener.NONE);
            long before = Rss.bytes();
            DdpmSampler.sample(model, xT, Steps.full(s), NoiseSource.of(Rng.of(2)), DdpmSampler.Options.defaults(),
                    StepListener.NONE);
            long grown = Rss.bytes() - before;
            System.out.printf("RSS growth over 1000 sampler steps: %.1f MB%n", grown / 1e6);
            // Each step makes ~30 intermediates of 2000 x 128 floats (1 MB each): unscoped, that is ~30 GB.
            assertThat(grown).isLessThan(64L << 20);
        }
    }

    @Test
    void rejectsBadArguments() {
        try (PointerScope scope = new PointerScope()) {
            Torch.init();
            assertThatThrownBy(() -> DdpmSampler.sample(IdealDenoiser.square(), torch.zeros(3), List.of(),
                    NoiseSource.of(Rng.of(1)), DdpmSampler.Options.defaults(), StepListener.NONE))
                    .hasMessageContaining("x_T");
            assertThatThrownBy(() -> DdpmSampler.sample(IdealDenoiser.square(), torch.zeros(3, 2), List.of(),
                    NoiseSource.of(Rng.of(1)), DdpmSampler.Options.defaults(), StepListener.NONE))
                    .hasMessageContaining("steps must not be empty");
            assertThatThrownBy(() -> DdpmSampler.Variance.parse("learned")).hasMessageContaining("fixed_small");
        }
    }

    /** x0 = x / 2 with a learned variance of {@code v} everywhere (or none when null). */
    private static Denoiser withVariance(Double v) {
        return (x, level) -> {
            Tensor x0 = x.div(Tensors.scalar(2));
            Tensor eps = x.sub(x0.mul(Tensors.scalar(level.alpha()))).div(Tensors.scalar(level.sigma()));
            return new Prediction(x0, eps, v == null ? null : torch.full(x.sizes().vec().get(), Tensors.scalar(v)));
        };
    }

    @Test
    void aLearnedRangeVarianceSpansFixedSmallToFixedLargeAndNeedsAModelThatPredictsIt() {
        NoiseSchedule s = NoiseSchedule.of(ScheduleConfig.ddpmDefault());
        List<Step> steps = Steps.ddpm(s, 50, TimestepSpacing.TRAILING, 0);
        DdpmSampler.Options learned = new DdpmSampler.Options(DdpmSampler.Variance.LEARNED_RANGE, false, 1);
        try (PointerScope scope = new PointerScope()) {
            Tensor xT = Rng.of(5).randn(4, 3);
            Tensor small = DdpmSampler.sample(withVariance(null), xT, steps, NoiseSource.of(Rng.of(6)),
                    DdpmSampler.Options.defaults(), StepListener.NONE);
            Tensor large = DdpmSampler.sample(withVariance(null), xT, steps, NoiseSource.of(Rng.of(6)),
                    new DdpmSampler.Options(DdpmSampler.Variance.FIXED_LARGE, false, 1), StepListener.NONE);
            Tensor low = DdpmSampler.sample(withVariance(-1.0), xT, steps, NoiseSource.of(Rng.of(6)), learned,
                    StepListener.NONE);
            Tensor high = DdpmSampler.sample(withVariance(1.0), xT, steps, NoiseSource.of(Rng.of(6)), learned,
                    StepListener.NONE);
            Tensor mid = DdpmSampler.sample(withVariance(0.0), xT, steps, NoiseSource.of(Rng.of(6)), learned,
                    StepListener.NONE);
            assertThat(small.sub(low).abs().max().item_double()).isLessThan(1e-5);
            assertThat(large.sub(high).abs().max().item_double()).isLessThan(1e-5);
            assertThat(small.sub(large).abs().max().item_double()).isGreaterThan(1e-3);
            assertThat(mid.sub(small).abs().max().item_double()).isGreaterThan(1e-4);
            assertThat(mid.sub(large).abs().max().item_double()).isGreaterThan(1e-4);
            assertThatThrownBy(() -> DdpmSampler.sample(withVariance(null), xT, steps, NoiseSource.of(Rng.of(6)),
                    learned, StepListener.NONE)).hasMessageContaining("predicts no variance");
            assertThat(DdpmSampler.Variance.parse("learned_range")).isEqualTo(DdpmSampler.Variance.LEARNED_RANGE);
        }
    }
}
