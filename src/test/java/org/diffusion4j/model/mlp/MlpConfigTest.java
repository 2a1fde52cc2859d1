package org.diffusion4j.model.mlp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.bytedeco.javacpp.PointerScope;
import org.diffusion4j.model.ParameterShapesTest;
import org.diffusion4j.tensor.Rng;
import org.junit.jupiter.api.Test;

class MlpConfigTest {
    @Test
    void parameterShapesAreThoseOfTheBuiltNetwork() {
        for (MlpConfig c : new MlpConfig[] {MlpConfig.toy2d(), new MlpConfig(5, 16, 0, 8), new MlpConfig(2, 12, 2, 6, 11)}) {
            try (PointerScope scope = new PointerScope()) {
                ParameterShapesTest.assertDescribes(c.parameterShapes(), new MlpNet(c, Rng.of(0)));
            }
        }
    }

    /** A sidecar edited to the largest hidden width lists 16 GiB per layer without allocating any of it. */
    @Test
    void theLargestConfigIsDescribedWithoutBeingBuilt() {
        MlpConfig wide = new MlpConfig(2, 1 << 16, 256, 64);
        assertThat(wide.parameterShapes().bytes()).isGreaterThan(4L * 512 * (1L << 32));
        assertThatThrownBy(() -> new MlpConfig(2, (1 << 16) + 1, 1, 64)).hasMessageContaining("hidden");
    }
}
