package org.diffusion4j.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.diffusion4j.schedule.NoiseLevel;
import org.diffusion4j.tensor.Tensors;
import org.diffusion4j.tensor.Torch;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class FiniteDenoiserTest {
    @BeforeAll
    static void init() {
        Torch.init();
    }

    /** x0 = x / 2, eps = x, until the evaluation numbered {@code badAt}, whose eps holds {@code bad}. */
    private static Denoiser turning(int badAt, double bad) {
        int[] calls = {0};
        return (x, level) -> {
            Tensor eps = calls[0]++ == badAt ? x.clone().fill_(Tensors.scalar(bad)) : x;
            return new Prediction(x.mul(Tensors.scalar(0.5)), eps);
        };
    }

    @Test
    void passesFinitePredictionsThroughUnchanged() {
        try (PointerScope scope = new PointerScope()) {
            Denoiser d = new FiniteDenoiser(turning(-1, 0));
            Tensor x = Tensors.fromFloats(new float[] {1, -2, 3, 4}, 2, 2);
            Prediction p = d.predict(x, NoiseLevel.vp(10, 0.5));
            assertThat(Tensors.toFloats(p.x0())).containsExactly(0.5f, -1f, 1.5f, 2f);
            assertThat(Tensors.toFloats(p.eps())).containsExactly(1f, -2f, 3f, 4f);
        }
    }

    @Test
    void failsAtTheFirstNonFiniteEvaluationNamingItsIndexAndNoiseLevel() {
        try (PointerScope scope = new PointerScope()) {
            Tensor x = torch.ones(2, 3);
            for (double bad : new double[] {Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY}) {
                Denoiser d = new FiniteDenoiser(turning(2, bad));
                d.predict(x, NoiseLevel.vp(900, 0.1));
                d.predict(x, NoiseLevel.vp(800, 0.2));
                assertThatThrownBy(() -> d.predict(x, NoiseLevel.vp(700, 0.36)))
                        .isInstanceOf(FiniteDenoiser.NonFiniteException.class)
                        .hasMessage("the prediction turned non-finite (NaN or infinite) at model evaluation 2 "
                                + "(timestep 700, sigma 0.8000); nothing was written");
            }
        }
    }
}
