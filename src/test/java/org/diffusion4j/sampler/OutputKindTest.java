package org.diffusion4j.sampler;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.diffusion4j.schedule.NoiseLevel;
import org.diffusion4j.model.Parameterization;
import org.diffusion4j.model.Prediction;
import org.diffusion4j.tensor.Rng;
import org.junit.jupiter.api.Test;

class OutputKindTest {
    @Test
    void recoversTheRawOutputOfEachParameterization() {
        try (PointerScope scope = new PointerScope()) {
            Tensor x = Rng.of(1).randn(8, 3);
            Tensor out = Rng.of(2).randn(8, 3);
            NoiseLevel level = NoiseLevel.vp(400, 0.3);
            for (Parameterization p : new Parameterization[] {Parameterization.EPS, Parameterization.X0,
                    Parameterization.V}) {
                Prediction pred = p.toPrediction(out, x, level.alpha(), level.sigma());
                Tensor back = OutputKind.parse(p.id()).of(pred, level);
                assertThat(GaussianDenoiser.maxError(back, out)).as(p.id()).isLessThan(1e-5);
            }
        }
        assertThatThrownBy(() -> OutputKind.parse("flow")).hasMessageContaining("eps, x0 or v");
    }
}
