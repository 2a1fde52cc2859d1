package org.diffusion4j.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.diffusion4j.tensor.Rng;
import org.diffusion4j.tensor.Tensors;
import org.diffusion4j.tensor.Torch;
import org.junit.jupiter.api.Test;

class AdamWTest {
    @Test
    void followsTorchAdamWStepByStep() {
        Torch.init();
        try (PointerScope scope = new PointerScope()) {
            Tensor p = Tensors.fromDoubles(new double[] {1.0, -2.0}, 2).set_requires_grad(true);
            double lr = 0.1;
            double wd = 0.05;
            double b1 = 0.9;
            double b2 = 0.99;
            double eps = 1e-8;
            AdamW opt = new AdamW(List.of(p), b1, b2, eps, wd);
            double[] expected = {1.0, -2.0};
            double[] m = new double[2];
            double[] v = new double[2];
            double[][] grads = {{0.5, -3.0}, {-1.0, 2.0}, {0.25, 0.25}};
            for (int step = 1; step <= grads.length; step++) {
                double[] g = grads[step - 1];
                p.mutable_grad().put(Tensors.fromDoubles(g, 2));
                opt.step(lr);
                for (int i = 0; i < 2; i++) {
                    expected[i] *= 1 - lr * wd;
                    m[i] = b1 * m[i] + (1 - b1) * g[i];
                    v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
                    double denom = Math.sqrt(v[i]) / Math.sqrt(1 - Math.pow(b2, step)) + eps;
                    expected[i] -= lr / (1 - Math.pow(b1, step)) * m[i] / denom;
                }
                assertThat(Tensors.toDoubles(p.detach())).containsExactly(expected, within(1e-12));
            }
            assertThat(opt.stepCount()).isEqualTo(3);
            assertThat(Tensors.toDoubles(opt.expAvg().get(0))).containsExactly(m, within(1e-12));
            assertThat(Tensors.toDoubles(opt.expAvgSq().get(0))).containsExactly(v, within(1e-12));
        }
    }

    @Test
    void loadRestoresStateAndChecksShapes() {
        Torch.init();
        try (PointerScope scope = new PointerScope()) {
            Tensor p = Tensors.fromDoubles(new double[] {1.0, 2.0}, 2).set_requires_grad(true);
            AdamW opt = new AdamW(List.of(p), 0.9, 0.999, 1e-8, 0);
            Tensor m = Tensors.fromDoubles(new double[] {0.1, 0.2}, 2);
            opt.load(List.of(m), List.of(m.mul(m)), 12);
            assertThat(opt.stepCount()).isEqualTo(12);
            assertThat(Tensors.toDoubles(opt.expAvg().get(0))).containsExactly(0.1, 0.2);
            assertThatThrownBy(() -> opt.load(List.of(Tensors.fromDoubles(new double[3], 3)), List.of(m), 1))
                    .hasMessageContaining("exp_avg[0]: expected shape [2] but got [3]");
            assertThatThrownBy(() -> opt.load(List.of(), List.of(), 1)).hasMessageContaining("0/0 moments for 1");
        }
    }
    @Test
    void aFlatStepEqualsPerTensorStepsAndItsMomentsViewTheBuffers() {
        Torch.init();
        try (PointerScope scope = new PointerScope()) {
            Rng rng = Rng.of(5);
            Tensor a = rng.randn(3, 2);
            Tensor b = rng.randn(4);
            List<Tensor> perTensor = List.of(a.clone().requires_grad_(true), b.clone().requires_grad_(true));
            List<Tensor> flatParams = List.of(a.clone().requires_grad_(true), b.clone().requires_grad_(true));
            FlatParameters flat = FlatParameters.of(flatParams);
            AdamW slow = new AdamW(perTensor, 0.9, 0.99, 1e-8, 0.05);
            AdamW fast = new AdamW(flat, 0.9, 0.99, 1e-8, 0.05);
            for (int step = 0; step < 4; step++) {
                Tensor ga = rng.randn(3, 2);
                Tensor gb = rng.randn(4);
                perTensor.get(0).mutable_grad().put(ga);
                perTensor.get(1).mutable_grad().put(gb);
                slow.step(0.1);
                fast.step(0.1, torch.cat(new TensorVector(
                        ga.reshape(-1), gb.reshape(-1))));
            }
            assertThat(fast.stepCount()).isEqualTo(4);
            for (int i = 0; i < 2; i++) {
                assertThat(Tensors.toFloats(flatParams.get(i).detach()))
                        .containsExactly(Tensors.toFloats(perTensor.get(i).detach()), within(1e-6f));
                assertThat(Tensors.toFloats(fast.expAvg().get(i)))
                        .containsExactly(Tensors.toFloats(slow.expAvg().get(i)), within(1e-6f));
                assertThat(Tensors.toFloats(fast.expAvgSq().get(i)))
                        .containsExactly(Tensors.toFloats(slow.expAvgSq().get(i)), within(1e-6f));
            }
            assertThat(fast.expAvg().get(0).is_alias_of(fast.expAvg().get(1))).isTrue();
            assertThatThrownBy(() -> fast.step(0.1, Tensors.fromDoubles(new double[3], 3)))
                    .hasMessageContaining("expected a [10] gradient, got [3]");
            assertThatThrownBy(() -> slow.step(0.1, Tensors.fromDoubles(new double[10], 10)))
                    .hasMessageContaining("built per tensor");
        }
    }
}
