package org.diffusion4j.guidance;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.diffusion4j.model.ConditionalDenoiser;
import org.diffusion4j.model.NoiseLevel;
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
            Tensor lab = labels.to(org.bytedeco.pytorch.global.torch.ScalarType.Float).unsqueeze(1).expand_as(x);
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
}
