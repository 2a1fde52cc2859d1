package org.diffusion4j.distributed;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import org.bytedeco.pytorch.ProcessGroup;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.diffusion4j.tensor.Rng;
import org.diffusion4j.tensor.Tensors;
import org.diffusion4j.tensor.Torch;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class OverlappedReducerTest {
    @BeforeAll
    static void init() {
        Torch.init();
    }

    private static Tensor param(long seed, long... shape) {
        return Rng.of(seed).randn(shape).requires_grad_(true);
    }

    /** rank r's loss: sum((x_r W)^2) + (r + 1) b.sum(); {@code unused} never enters it. */
    private static Tensor loss(int r, Tensor w, Tensor b) {
        Tensor x = Rng.of(100 + r).randn(5, 3);
        return torch.matmul(x, w).square().sum().add(b.sum().mul(Tensors.scalar(r + 1)));
    }

    @Test
    void gradientsAreTheMeanOfTheRanksLocalGradientsOverSeveralSteps() throws Exception {
        // Tiny buckets so that the three parameters land in different buckets and steps.
        // Per rank, per step: the weight and bias gradients. The first step (DDP's static-graph probe) reduces after
        // backward, the later ones during it.
        List<float[][][]> out = TwoRanks.run(g -> {
            Tensor w = param(1, 3, 4);
            Tensor b = param(2, 4);
            Tensor unused = param(3, 2);
            GradientSync sync = new OverlappedReducer(g, processGroupOf(g), List.of(w, b, unused), 40);
            float[][][] result = new float[3][][];
            for (int step = 0; step < 3; step++) {
                sync.beforeForward();
                Tensor l = loss(g.rank(), w, b);
                w.mutable_grad().reset();
                b.mutable_grad().reset();
                double[] mean = sync.backward(l, g.rank() + 1.0, 10.0 * g.rank());
                assertThat(mean[0]).isCloseTo(1.5, within(1e-6));
                assertThat(mean[1]).isCloseTo(5.0, within(1e-6));
                assertThat(unused.grad().defined()).as("a parameter no rank uses keeps no gradient").isFalse();
                result[step] = new float[][] {Tensors.toFloats(w.grad().reshape(-1)), Tensors.toFloats(b.grad())};
            }
            return result;
        });
        // The same losses back-propagated in one process, averaged by hand.
        Tensor w = param(1, 3, 4);
        Tensor b = param(2, 4);
        loss(0, w, b).add(loss(1, w, b)).mul(Tensors.scalar(0.5)).backward();
        float[] wantW = Tensors.toFloats(w.grad().reshape(-1));
        float[] wantB = Tensors.toFloats(b.grad());
        for (float[][][] rank : out) {
            for (float[][] step : rank) {
                for (int i = 0; i < wantW.length; i++) {
                    assertThat(step[0][i]).isCloseTo(wantW[i], within(1e-4f * (1 + Math.abs(wantW[i]))));
                }
                assertThat(step[1]).containsExactly(wantB);
            }
        }
        // The ranks' own gradients differ, so equality above is the reduction at work.
        assertThat(wantB).containsExactly(1.5f, 1.5f, 1.5f, 1.5f);
    }

    private static ProcessGroup processGroupOf(GlooGroup g) {
        return g.processGroup();
    }
}
