package org.diffusion4j.sampling;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import java.util.function.Function;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.DeviceOptional;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.bytedeco.pytorch.global.torch;
import org.diffusion4j.model.Denoiser;
import org.diffusion4j.model.Prediction;
import org.diffusion4j.sampler.DdimSampler;
import org.diffusion4j.sampler.DdpmSampler;
import org.diffusion4j.sampler.HeunSampler;
import org.diffusion4j.sampler.NoiseSource;
import org.diffusion4j.sampler.StepListener;
import org.diffusion4j.schedule.DiffusionProcess;
import org.diffusion4j.schedule.NoiseSchedule;
import org.diffusion4j.schedule.ScheduleConfig;
import org.diffusion4j.schedule.TimeSampling;
import org.diffusion4j.schedule.TimestepSpacing;
import org.diffusion4j.tensor.Rng;
import org.diffusion4j.tensor.Scopes;
import org.diffusion4j.tensor.Tensors;
import org.diffusion4j.tensor.Torch;
import org.junit.jupiter.api.Test;

class SamplerSpecTest {
    private final NoiseSchedule s = NoiseSchedule.of(ScheduleConfig.ddpmDefault());
    private final DiffusionProcess ddpm = new DiffusionProcess.Ddpm(s);

    @Test
    void zeroStepsMeansEveryTrainingStep() {
        assertThat(SamplerSpec.ddpmFull().stepsFor(s)).hasSize(1000);
        SamplerSpec ddim = new SamplerSpec(SamplerSpec.Kind.DDIM, 25, 0.3, TimestepSpacing.LINSPACE,
                DdpmSampler.Variance.FIXED_SMALL, false);
        assertThat(ddim.stepsFor(s)).hasSize(25);
        assertThat(ddim.stepsFor(s).get(24).alphaBarPrev()).as("set_alpha_to_one").isEqualTo(1.0);
    }

    @Test
    void clippedDdimReDerivesEpsFromTheClippedX0() {
        Torch.init();
        try (PointerScope scope = new PointerScope()) {
            // A model that always predicts x0 = 3 (outside [-1, 1]) with eps consistent with x.
            Denoiser far = (x, level) -> {
                var x0 = torch.full_like(x, Tensors.scalar(3));
                var eps = x.sub(x0.mul(Tensors.scalar(level.alpha())))
                        .div(Tensors.scalar(level.sigma()));
                return new Prediction(x0, eps);
            };
            SamplerSpec spec = new SamplerSpec(SamplerSpec.Kind.DDIM, 20, 0, TimestepSpacing.TRAILING,
                    DdpmSampler.Variance.FIXED_SMALL, true);
            var xT = Rng.of(3).randn(64, 2);
            float[] got = midway(l -> spec.run(far, ddpm, xT, NoiseSource.of(
                    Rng.of(1)), l));
            float[] rederived = midway(l -> DdimSampler.sample(far, xT, spec.stepsFor(s),
                    NoiseSource.of(Rng.of(1)),
                    new DdimSampler.Options(0, true, 1, true), l));
            float[] diffusers = midway(l -> DdimSampler.sample(far, xT, spec.stepsFor(s),
                    NoiseSource.of(Rng.of(1)),
                    new DdimSampler.Options(0, true, 1, false), l));
            assertThat(got).containsExactly(rederived);
            assertThat(Arrays.equals(got, diffusers)).isFalse();
        }
    }

    /** x_t at step 10 of a sampler run. */
    private static float[] midway(Function<StepListener, ?> run) {
        float[][] seen = new float[1][];
        run.apply((i, n, xt, x0) -> {
            if (i == 10) {
                seen[0] = Tensors.toFloats(xt);
            }
        });
        return seen[0];
    }

    @Test
    void rejectsBadValues() {
        assertThatThrownBy(() -> new SamplerSpec(SamplerSpec.Kind.DDIM, -1, 0, TimestepSpacing.LEADING,
                DdpmSampler.Variance.FIXED_SMALL, false)).hasMessageContaining("steps");
        assertThatThrownBy(() -> new SamplerSpec(SamplerSpec.Kind.DDIM, 10, 1.5, TimestepSpacing.LEADING,
                DdpmSampler.Variance.FIXED_SMALL, false)).hasMessageContaining("eta");
        SamplerSpec tooMany = new SamplerSpec(SamplerSpec.Kind.DDPM, 2000, 0, TimestepSpacing.LEADING,
                DdpmSampler.Variance.FIXED_SMALL, false);
        assertThatThrownBy(() -> tooMany.stepsFor(s)).hasMessageContaining("--sampler-steps 2000 exceeds the model's 1000");
        assertThatThrownBy(() -> SamplerSpec.Kind.parse("lms")).hasMessageContaining("[ddpm, ddim, euler, euler-a");
        assertThatThrownBy(() -> new SamplerSpec(SamplerSpec.Kind.DDIM, 10, 0, TimestepSpacing.LEADING,
                DdpmSampler.Variance.FIXED_SMALL, false, true, 2, 0)).hasMessageContaining("--karras is for");
        assertThatThrownBy(() -> new SamplerSpec(SamplerSpec.Kind.GE, 10, 0, TimestepSpacing.LEADING,
                DdpmSampler.Variance.FIXED_SMALL, false, false, 2, 1)).hasMessageContaining("mu must be in [0, 1)");
        assertThatThrownBy(() -> new SamplerSpec(SamplerSpec.Kind.EULER, 10, 0, TimestepSpacing.LEADING,
                DdpmSampler.Variance.FIXED_SMALL, false, false, 2, 0, new HeunSampler.Churn(40, 0.05, 50, 1.003)))
                .hasMessageContaining("--churn is for the heun sampler, not euler");
    }

    @Test
    void labelsNameStepsKarrasAndChurn() {
        SamplerSpec churned = new SamplerSpec(SamplerSpec.Kind.HEUN, 18, 0, TimestepSpacing.TRAILING,
                DdpmSampler.Variance.FIXED_SMALL, true, true, 2, 0, new HeunSampler.Churn(40, 0.05, 50, 1.003));
        assertThat(churned.label(s)).isEqualTo("heun-18-karras-churn40.0");
    }

    @Test
    void everySamplerLandsOnThePointsOfAnIdealDenoiser() {
        Torch.init();
        try (PointerScope scope = new PointerScope()) {
            Tensor points = Tensors.fromFloats(
                    new float[] {-1, -1, -1, 1, 1, -1, 1, 1}, 4, 2);
            Denoiser ideal = (x, level) -> {
                var d2 = x.unsqueeze(1).sub(points.mul(Tensors.scalar(level.alpha())).unsqueeze(0))
                        .square().sum(new long[] {2}, false, new ScalarTypeOptional());
                var w = torch.softmax(
                        d2.div(Tensors.scalar(-2 * level.sigma() * level.sigma())), 1);
                var x0 = w.matmul(points);
                var eps = x.sub(x0.mul(Tensors.scalar(level.alpha())))
                        .div(Tensors.scalar(level.sigma()));
                return new Prediction(x0, eps);
            };
            for (SamplerSpec.Kind kind : SamplerSpec.Kind.values()) {
                for (boolean karras : new boolean[] {false, true}) {
                    if (karras && (kind == SamplerSpec.Kind.DDPM || kind == SamplerSpec.Kind.DDIM
                            || kind == SamplerSpec.Kind.PNDM)) {
                        continue;
                    }
                    SamplerSpec spec = new SamplerSpec(kind, 40, 0, TimestepSpacing.TRAILING,
                            DdpmSampler.Variance.FIXED_SMALL, false, karras, 2, 0);
                    int[] evaluations = {0};
                    var xT = Rng.of(1).randn(200, 2);
                    Tensor out = spec.run(ideal, ddpm, xT, NoiseSource.of(
                            Rng.of(2)), (i, n, xt, x0) -> evaluations[0]++);
                    assertThat(evaluations[0]).as(spec.label(s)).isEqualTo(spec.evaluations(s));
                    var dist = out.unsqueeze(1).sub(points.unsqueeze(0)).square().sum(new long[] {2}, false,
                            new ScalarTypeOptional()).min(1).get0().sqrt();
                    assertThat(dist.median().item_double()).as(spec.label(s) + ": median distance to a point")
                            .isLessThan(1e-3);
                    // PLMS and ge (gam 2) extrapolate eps across steps, which overshoots near the boundaries of
                    // this discontinuous denoiser at 40 steps; they converge with more steps.
                    boolean extrapolates = kind == SamplerSpec.Kind.PNDM || kind == SamplerSpec.Kind.GE && !karras;
                    if (extrapolates) {
                        SamplerSpec fine = new SamplerSpec(kind, 250, 0, TimestepSpacing.TRAILING,
                                DdpmSampler.Variance.FIXED_SMALL, false, karras, 2, 0);
                        out = fine.run(ideal, ddpm, xT, null, StepListener.NONE);
                        dist = out.unsqueeze(1).sub(points.unsqueeze(0)).square().sum(new long[] {2}, false,
                                new ScalarTypeOptional()).min(1).get0().sqrt();
                    }
                    assertThat(dist.max().item_double()).as(spec.label(s) + ": farthest sample from a point")
                            .isLessThan(0.05);
                }
            }
        }
    }

    @Test
    void clipKeepsEverySamplersResultInRangeWhenTheModelOvershoots() {
        Torch.init();
        try (PointerScope scope = new PointerScope()) {
            // Predicts x0 = 1.5 everywhere, outside the data range, with the matching eps.
            Denoiser overshoot = (x, level) -> {
                var x0 = x.mul(Tensors.scalar(0)).add(Tensors.scalar(1.5));
                var eps = x.sub(x0.mul(Tensors.scalar(level.alpha())))
                        .div(Tensors.scalar(level.sigma()));
                return new Prediction(x0, eps);
            };
            for (SamplerSpec.Kind kind : SamplerSpec.Kind.values()) {
                for (boolean clip : new boolean[] {false, true}) {
                    SamplerSpec spec = new SamplerSpec(kind, 20, 0, TimestepSpacing.TRAILING,
                            DdpmSampler.Variance.FIXED_SMALL, clip, false, 2, 0);
                    var xT = Rng.of(3).randn(64, 2);
                    double max = spec.run(overshoot, ddpm, xT, NoiseSource.of(
                            Rng.of(4)), StepListener.NONE)
                            .max().item_double();
                    if (clip) {
                        assertThat(max).as(spec.label(s) + " clipped").isLessThanOrEqualTo(1.0 + 1e-4);
                    } else {
                        assertThat(max).as(spec.label(s) + " unclipped").isGreaterThan(1.4);
                    }
                }
            }
        }
    }

    /**
     * The meta device holds shapes but no data: an op that mixes in a CPU tensor, or reads a value back to the host
     * (item(), data_ptr()), fails there. So every sampler running clean on meta tensors is what lets it run on CUDA
     * without hidden host copies.
     */
    @Test
    void everySamplerStaysOnTheDeviceOfItsInputWithoutReadingValuesBack() {
        Torch.init();
        try (PointerScope scope = new PointerScope()) {
            var meta = new TensorOptions(ScalarType.Float)
                    .device(new DeviceOptional(new Device("meta")));
            Denoiser model = (x, level) -> {
                assertThat(x.is_meta()).as("the model's input").isTrue();
                return new Prediction(x.mul(Tensors.scalar(0.5)),
                        x.mul(Tensors.scalar(0.25)));
            };
            NoiseSource noise = shape -> torch.randn(shape, meta);
            int runs = 0;
            for (SamplerSpec.Kind kind : SamplerSpec.Kind.values()) {
                for (boolean clip : new boolean[] {false, true}) {
                    for (boolean flow : new boolean[] {false, true}) {
                        SamplerSpec spec = new SamplerSpec(kind, 6, 0.5, TimestepSpacing.TRAILING,
                                DdpmSampler.Variance.FIXED_SMALL, clip, false, 2, 0);
                        if (flow && (kind == SamplerSpec.Kind.DDPM || kind == SamplerSpec.Kind.DDIM
                                || kind == SamplerSpec.Kind.PNDM || kind == SamplerSpec.Kind.GE)) {
                            continue; // these refuse a flow schedule (it starts at zero SNR)
                        }
                        var xT = torch.randn(new long[] {3, 1, 4, 4}, meta);
                        Tensor out = spec.run(model, flow ? new DiffusionProcess.Flow(s, TimeSampling.UNIFORM) : ddpm, xT, noise,
                                (i, n, xt, x0) -> assertThat(xt.is_meta() && x0.is_meta()).isTrue());
                        assertThat(out.is_meta()).as(spec.label(s) + (flow ? " flow" : "")).isTrue();
                        assertThat(out.sizes().vec().get()).containsExactly(3, 1, 4, 4);
                        runs++;
                    }
                }
            }
            assertThat(runs).isGreaterThanOrEqualTo(2 * SamplerSpec.Kind.values().length);
        }
    }

    /**
     * img2img's tail: a one-step sampler started at step k from the state a whole run reached there finishes where the
     * whole run does, with n - k evaluations; the start step follows diffusers' N - int(N * strength).
     */
    @Test
    void aRunFromStepKContinuesTheWholeRunFromItsStateThere() {
        Torch.init();
        try (PointerScope scope = new PointerScope()) {
            Denoiser shrink = (x, level) -> {
                Tensor x0 = x.mul(Tensors.scalar(0.5 * level.alpha()));
                return new Prediction(x0, x.sub(x0.mul(Tensors.scalar(level.alpha())))
                        .div(Tensors.scalar(level.sigma())));
            };
            DiffusionProcess flow = new DiffusionProcess.Flow(s, TimeSampling.UNIFORM);
            Tensor xT = Rng.of(3).randn(4, 2);
            for (SamplerSpec.Kind kind : new SamplerSpec.Kind[] {SamplerSpec.Kind.DDIM, SamplerSpec.Kind.EULER,
                    SamplerSpec.Kind.HEUN}) {
                DiffusionProcess p = kind == SamplerSpec.Kind.DDIM ? ddpm : flow;
                SamplerSpec spec = new SamplerSpec(kind, 10, 0, TimestepSpacing.TRAILING,
                        DdpmSampler.Variance.FIXED_SMALL, false);
                int from = spec.startIndex(p, 0.6);
                assertThat(from).isEqualTo(4);
                Tensor[] at = new Tensor[1];
                Tensor whole = spec.run(shrink, p, xT, NoiseSource.of(Rng.of(1)), (i, n, xt, x0) -> {
                    if (i == (kind == SamplerSpec.Kind.HEUN ? 2 * from : from) && at[0] == null) {
                        at[0] = Scopes.detach(xt.clone());
                    }
                });
                int[] evaluations = {0};
                Tensor tail = spec.run(shrink, p, at[0], from, NoiseSource.of(Rng.of(1)),
                        (i, n, xt, x0) -> evaluations[0]++);
                assertThat(Tensors.toFloats(tail)).as(kind.id()).containsExactly(Tensors.toFloats(whole),
                        org.assertj.core.data.Offset.offset(1e-6f));
                assertThat(evaluations[0]).as(kind.id()).isEqualTo(kind == SamplerSpec.Kind.HEUN ? 2 * 6 - 1 : 6);
            }
            SamplerSpec ddim = new SamplerSpec(SamplerSpec.Kind.DDIM, 5, 0, TimestepSpacing.LEADING,
                    DdpmSampler.Variance.FIXED_SMALL, false);
            assertThat(ddim.startLevel(ddpm, 2).timestep()).isEqualTo(ddim.stepsFor(s).get(2).timestep());
            assertThatThrownBy(() -> ddim.startIndex(ddpm, 0.1)).hasMessageContaining("strength 0.1 of 5 steps runs "
                    + "no step");
            assertThatThrownBy(() -> ddim.startIndex(ddpm, 1.5)).hasMessageContaining("strength must be in (0, 1]");
            assertThatThrownBy(() -> ddim.run(shrink, ddpm, xT, 5, NoiseSource.of(Rng.of(1)), StepListener.NONE))
                    .hasMessageContaining("start step must be in [0, 4], got 5");
        }
    }
}
