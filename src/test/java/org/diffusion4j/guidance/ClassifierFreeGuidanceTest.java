package org.diffusion4j.guidance;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.DeviceOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.bytedeco.pytorch.global.torch;
import org.diffusion4j.model.ConditionalDenoiser;
import org.diffusion4j.schedule.NoiseLevel;
import org.diffusion4j.model.Prediction;
import org.diffusion4j.tensor.Rng;
import org.diffusion4j.tensor.Tensors;
import org.junit.jupiter.api.Test;

class ClassifierFreeGuidanceTest {
    /** A fake conditional model: x0 = label (broadcast), eps = x + label; records every call's labels. */
    private static final class Recording implements ConditionalDenoiser {
        final List<long[]> calls = new ArrayList<>();

        @Override
        public Prediction predict(Tensor x, NoiseLevel level, Tensor labels) {
            long[] l = new long[Math.toIntExact(labels.numel())];
            labels.contiguous().data_ptr_long().get(l);
            calls.add(l);
            Tensor lab = labels.to(ScalarType.Float).unsqueeze(1).expand_as(x);
            return new Prediction(lab.mul(Tensors.scalar(1)), x.add(lab));
        }
    }

    @Test
    void combinesOneBatchedPassAsUncondPlusWTimesTheDifference() {
        try (PointerScope scope = new PointerScope()) {
            Recording model = new Recording();
            Tensor x = Rng.of(1).randn(3, 2);
            NoiseLevel level = NoiseLevel.vp(500, 0.5);
            Prediction p = new ClassifierFreeGuidance(model, 2, 10, 3.0).predict(x, level);
            assertThat(model.calls).hasSize(1);
            assertThat(model.calls.get(0)).containsExactly(2, 2, 2, 10, 10, 10);
            // u + 3 (c - u) = 10 + 3 (2 - 10) = -14 for x0; eps = x + (-14).
            assertThat(Tensors.toFloats(p.x0())).containsOnly(-14f);
            assertThat(GaussianCheck.maxAbs(p.eps().sub(x.add(Tensors.scalar(-14))))).isLessThan(1e-5);
        }
    }

    @Test
    void guidesEachRowTowardsItsOwnClassAndCanLeaveTrailingChannelsConditional() {
        try (PointerScope scope = new PointerScope()) {
            Recording model = new Recording();
            Tensor x = Rng.of(1).randn(2, 4);
            Tensor labels = Tensors.fromLongs(new long[] {1, 3}, 2);
            Prediction all = new ClassifierFreeGuidance(model, labels, 10, Guidance.of(2), 0)
                    .predict(x, NoiseLevel.vp(500, 0.5));
            assertThat(model.calls.get(0)).containsExactly(1, 3, 10, 10);
            // Row 0: 10 + 2 (1 - 10) = -8; row 1: 10 + 2 (3 - 10) = -4, in every channel.
            assertThat(Tensors.toFloats(all.x0())).containsExactly(-8, -8, -8, -8, -4, -4, -4, -4);
            Prediction three = new ClassifierFreeGuidance(model, labels, 10, Guidance.of(2), 3)
                    .predict(x, NoiseLevel.vp(500, 0.5));
            // The original DiT's convention: channel 3 keeps the conditional prediction (the class itself).
            assertThat(Tensors.toFloats(three.x0())).containsExactly(-8, -8, -8, 1, -4, -4, -4, 3);
            assertThatThrownBy(() -> new ClassifierFreeGuidance(model, labels, 10, Guidance.of(2), 0)
                    .predict(Rng.of(1).randn(3, 4), NoiseLevel.vp(500, 0.5))).hasMessageContaining("2 class labels "
                    + "for a batch of 3");
            assertThatThrownBy(() -> new ClassifierFreeGuidance(model, Tensors.fromLongs(new long[] {10}, 1), 10,
                    Guidance.of(2), 0)).hasMessageContaining("0 to 9");
        }
    }

    @Test
    void passesTheConditionalRowsLearnedVarianceThrough() {
        try (PointerScope scope = new PointerScope()) {
            ConditionalDenoiser model = (x, level, labels) -> {
                Tensor lab = labels.to(ScalarType.Float).unsqueeze(1).expand_as(x);
                return new Prediction(lab.mul(Tensors.scalar(1)), x.add(lab), lab.div(Tensors.scalar(100)));
            };
            Prediction p = new ClassifierFreeGuidance(model, 2, 10, 3.0).predict(Rng.of(1).randn(2, 3),
                    NoiseLevel.vp(500, 0.5));
            assertThat(Tensors.toFloats(p.variance())).containsOnly(0.02f).hasSize(6);
        }
    }

    /** x0 = (label + 1) x, eps consistent with x = alpha x0 + sigma eps: the scale of x0 depends on the class. */
    private static final class Scaling implements ConditionalDenoiser {
        int calls;

        @Override
        public Prediction predict(Tensor x, NoiseLevel level, Tensor labels) {
            calls++;
            Tensor k = labels.to(ScalarType.Float).add(Tensors.scalar(1))
                    .unsqueeze(1).expand_as(x);
            Tensor x0 = x.mul(k);
            return new Prediction(x0, x.sub(x0.mul(Tensors.scalar(level.alpha()))).div(Tensors.scalar(level.sigma())));
        }
    }

    @Test
    void rescaleMatchesTheConditionalStdAndKeepsX0AndEpsConsistent() {
        try (PointerScope scope = new PointerScope()) {
            Tensor x = Rng.of(1).randn(3, 16);
            NoiseLevel level = NoiseLevel.vp(500, 0.5);
            // c = 3x (class 2), u = 11x (no class 10): guided 11 + 3 (3 - 11) = -13 x; rescaled to std 3: -3 x.
            Prediction full = new ClassifierFreeGuidance(new Scaling(), 2, 10, new Guidance(3, 1, 0,
                    Double.POSITIVE_INFINITY)).predict(x, level);
            assertThat(GaussianCheck.maxAbs(full.x0().sub(x.mul(Tensors.scalar(-3))))).isLessThan(1e-4);
            Prediction half = new ClassifierFreeGuidance(new Scaling(), 2, 10, new Guidance(3, 0.5, 0,
                    Double.POSITIVE_INFINITY)).predict(x, level);
            assertThat(GaussianCheck.maxAbs(half.x0().sub(x.mul(Tensors.scalar(-8))))).isLessThan(1e-4);
            Tensor back = half.x0().mul(Tensors.scalar(level.alpha())).add(half.eps().mul(Tensors.scalar(level.sigma())));
            assertThat(GaussianCheck.maxAbs(back.sub(x))).isLessThan(1e-4);
        }
    }

    @Test
    void outsideTheIntervalTheConditionalPredictionIsUsedInOnePass() {
        try (PointerScope scope = new PointerScope()) {
            Tensor x = Rng.of(1).randn(3, 16);
            Guidance g = new Guidance(3, 0, 0.5, 2);
            Scaling model = new Scaling();
            ClassifierFreeGuidance cfg = new ClassifierFreeGuidance(model, 2, 10, g);
            // alpha-bar 0.5: sigma / alpha = 1, inside (0.5, 2]; alpha-bar 0.9: 1/3, below; 0.1: 3, above.
            assertThat(GaussianCheck.maxAbs(cfg.predict(x, NoiseLevel.vp(500, 0.5)).x0()
                    .sub(x.mul(Tensors.scalar(-13))))).isLessThan(1e-4);
            for (double alphaBar : new double[] {0.9, 0.1}) {
                int before = model.calls;
                Prediction p = cfg.predict(x, NoiseLevel.vp(500, alphaBar));
                assertThat(model.calls - before).isEqualTo(1);
                assertThat(GaussianCheck.maxAbs(p.x0().sub(x.mul(Tensors.scalar(3))))).isLessThan(1e-4);
            }
            assertThat(g.activeAt(0, 1)).isFalse();
            assertThat(Guidance.of(2).activeAt(0, 1)).isTrue();
        }
    }

    @Test
    void weightOneIsPlainConditionalAndUnconditionalUsesTheNullLabel() {
        try (PointerScope scope = new PointerScope()) {
            Recording model = new Recording();
            Tensor x = Rng.of(1).randn(4, 2);
            NoiseLevel level = NoiseLevel.vp(500, 0.5);
            Prediction p = new ClassifierFreeGuidance(model, 7, 10, 1.0).predict(x, level);
            assertThat(model.calls.get(0)).containsExactly(7, 7, 7, 7);
            assertThat(Tensors.toFloats(p.x0())).containsOnly(7f);
            ClassifierFreeGuidance.unconditional(model, 10).predict(x, level);
            assertThat(model.calls.get(1)).containsExactly(10, 10, 10, 10);
        }
    }

    @Test
    void rejectsClassesOutsideTheModelAndBadWeights() {
        Recording model = new Recording();
        assertThatThrownBy(() -> new ClassifierFreeGuidance(model, 10, 10, 2)).hasMessageContaining("class 10 is not a "
                + "class of this model (0 to 9)");
        assertThatThrownBy(() -> new ClassifierFreeGuidance(model, -1, 10, 2)).hasMessageContaining("class -1");
        assertThatThrownBy(() -> new ClassifierFreeGuidance(model, 1, 10, Double.NaN)).hasMessageContaining("guidance");
        assertThatThrownBy(() -> new ClassifierFreeGuidance(model, 1, 10, -1)).hasMessageContaining("guidance");
    }

    private static final class GaussianCheck {
        static double maxAbs(Tensor t) {
            return t.abs().max().item_double();
        }
    }

    /** The labels it makes go where x is (meta fails on any op mixing in a CPU tensor). */
    @Test
    void makesItsLabelsOnTheDeviceOfX() {
        try (PointerScope scope = new PointerScope()) {
            List<Boolean> onMeta = new ArrayList<>();
            ConditionalDenoiser model = (x, level, labels) -> {
                onMeta.add(labels.is_meta());
                return new Prediction(x.mul(Tensors.scalar(0.5)), x.mul(Tensors.scalar(2)));
            };
            Tensor x = torch.zeros(new long[] {3, 2}, new TensorOptions(ScalarType.Float)
                    .device(new DeviceOptional(new Device("meta"))));
            NoiseLevel level = NoiseLevel.vp(500, 0.5);
            Prediction guided = new ClassifierFreeGuidance(model, 1, 10, 3).predict(x, level);
            ClassifierFreeGuidance.unconditional(model, 10).predict(x, level);
            new ClassifierFreeGuidance(model, 1, 10, new Guidance(3, 0, 50, 60))
                    .predict(x, level);
            assertThat(onMeta).containsOnly(true).hasSize(3);
            assertThat(guided.x0().is_meta() && guided.eps().is_meta()).isTrue();
        }
    }
}
