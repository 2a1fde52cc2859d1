package org.diffusion4j.schedule;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.diffusion4j.tensor.Rng;
import org.diffusion4j.tensor.Tensors;
import org.junit.jupiter.api.Test;

class ForwardProcessTest {
    @Test
    void addNoiseHasTheClosedFormMeanAndVariance() {
        NoiseSchedule s = NoiseSchedule.of(ScheduleConfig.ddpmDefault());
        ForwardProcess fp = new ForwardProcess(s);
        int n = 200_000;
        try (PointerScope scope = new PointerScope()) {
            Rng rng = Rng.of(11);
            for (int t : new int[] {0, 250, 999}) {
                Tensor x0 = torch.full(new long[] {n, 1}, Tensors.scalar(1.5));
                Tensor xt = fp.addNoise(x0, rng.randn(n, 1), torch.full(new long[] {n}, Tensors.scalar(t),
                        new TensorOptions(torch.ScalarType.Long)));
                double mean = xt.mean().item_double();
                double var = xt.var().item_double();
                double ab = s.alphaBar(t);
                assertThat(mean).as("mean at t=%d", t).isCloseTo(Math.sqrt(ab) * 1.5, within(0.01));
                assertThat(var).as("variance at t=%d", t).isCloseTo(1 - ab, within(0.01 + 0.01 * (1 - ab)));
            }
        }
    }

    @Test
    void eachRowUsesItsOwnTimestep() {
        NoiseSchedule s = NoiseSchedule.of(ScheduleConfig.ddpmDefault());
        ForwardProcess fp = new ForwardProcess(s);
        try (PointerScope scope = new PointerScope()) {
            Tensor x0 = torch.ones(2, 3);
            Tensor noise = torch.zeros(2, 3);
            Tensor t = Tensors.fromFloats(new float[] {5, 900}, 2).to(torch.ScalarType.Long);
            float[] xt = Tensors.toFloats(fp.addNoise(x0, noise, t));
            assertThat(xt[0]).isCloseTo((float) Math.sqrt(s.alphaBar(5)), within(1e-6f));
            assertThat(xt[5]).isCloseTo((float) Math.sqrt(s.alphaBar(900)), within(1e-6f));
        }
    }

    @Test
    void rejectsMismatchedShapes() {
        ForwardProcess fp = new ForwardProcess(NoiseSchedule.of(ScheduleConfig.ddpmDefault()));
        try (PointerScope scope = new PointerScope()) {
            Tensor t = torch.zeros(new long[] {2}, new TensorOptions(torch.ScalarType.Long));
            assertThatThrownBy(() -> fp.addNoise(torch.ones(2, 3), torch.ones(2, 4), t)).hasMessageContaining("noise");
            assertThatThrownBy(() -> fp.addNoise(torch.ones(3, 3), torch.ones(3, 3), t)).hasMessageContaining("t:");
        }
    }
}
