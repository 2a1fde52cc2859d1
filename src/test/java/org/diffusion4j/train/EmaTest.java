package org.diffusion4j.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.diffusion4j.tensor.Rng;
import org.diffusion4j.tensor.Tensors;
import org.diffusion4j.tensor.Torch;
import org.junit.jupiter.api.Test;

class EmaTest {
    @Test
    void averagesWithARampedDecay() {
        Torch.init();
        try (PointerScope scope = new PointerScope()) {
            Tensor p = Tensors.fromDoubles(new double[] {0.0}, 1);
            Ema ema = new Ema(List.of(p), 0.9);
            double expected = 0;
            for (int k = 0; k < 30; k++) {
                p.fill_(Tensors.scalar(k + 1.0));
                double d = Math.min(0.9, (1.0 + k) / (10.0 + k));
                expected = d * expected + (1 - d) * (k + 1.0);
                ema.update();
                assertThat(Tensors.toDoubles(ema.shadow().get(0))[0]).isCloseTo(expected, within(1e-12));
            }
            assertThat(ema.decayAt(0)).isEqualTo(0.1);
            assertThat(ema.decayAt(1000)).isEqualTo(0.9);
            assertThat(ema.updates()).isEqualTo(30);
        }
    }

    @Test
    void rejectsBadDecayAndMismatchedState() {
        Torch.init();
        try (PointerScope scope = new PointerScope()) {
            Tensor p = Tensors.fromDoubles(new double[] {0.0}, 1);
            assertThatThrownBy(() -> new Ema(List.of(p), 1.0)).hasMessageContaining("(0, 1)");
            Ema ema = new Ema(List.of(p), 0.5);
            assertThatThrownBy(() -> ema.load(List.of(), 0)).hasMessageContaining("0 tensors for 1");
        }
    }
    @Test
    void aFlatAverageEqualsThePerTensorOneAndItsShadowViewsIt() {
        Torch.init();
        try (PointerScope scope = new PointerScope()) {
            Rng rng = Rng.of(6);
            List<Tensor> perTensor = List.of(rng.randn(2, 2), rng.randn(3));
            List<Tensor> flatParams = List.of(perTensor.get(0).clone(), perTensor.get(1).clone());
            Ema slow = new Ema(perTensor, 0.9);
            Ema fast = new Ema(FlatParameters.of(flatParams), 0.9);
            for (int k = 0; k < 15; k++) {
                Tensor[] steps = {rng.randn(2, 2), rng.randn(3)};
                for (int i = 0; i < 2; i++) {
                    perTensor.get(i).add_(steps[i]);
                    flatParams.get(i).add_(steps[i]);
                }
                slow.update();
                fast.update();
            }
            for (int i = 0; i < 2; i++) {
                assertThat(Tensors.toFloats(fast.shadow().get(i)))
                        .containsExactly(Tensors.toFloats(slow.shadow().get(i)), within(1e-6f));
            }
            assertThat(fast.shadow().get(0).is_alias_of(fast.shadow().get(1))).isTrue();
            // Loading writes through the views.
            fast.load(List.of(torch.ones(2, 2), torch.ones(3)), 3);
            fast.update();
            double d = fast.decayAt(3);
            float[] p = Tensors.toFloats(flatParams.get(1));
            float[] got = Tensors.toFloats(fast.shadow().get(1));
            for (int j = 0; j < p.length; j++) {
                assertThat(got[j]).isCloseTo((float) (d + (1 - d) * p[j]), within(1e-6f));
            }
        }
    }
}
