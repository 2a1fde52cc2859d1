package org.diffusion4j.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
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
}
