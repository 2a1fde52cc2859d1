package org.diffusion4j.model;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.diffusion4j.model.mlp.MlpConfig;
import org.diffusion4j.model.mlp.MlpNet;
import org.diffusion4j.tensor.Rng;
import org.diffusion4j.tensor.Tensors;
import org.junit.jupiter.api.Test;

class InitTest {
    @Test
    void seedDeterminesWeightsAndBoundsFollowFanIn() {
        try (PointerScope scope = new PointerScope()) {
            MlpConfig cfg = new MlpConfig(2, 32, 1, 16);
            Map<String, Tensor> a = Parameters.named(new MlpNet(cfg, Rng.of(5)));
            Map<String, Tensor> b = Parameters.named(new MlpNet(cfg, Rng.of(5)));
            Map<String, Tensor> c = Parameters.named(new MlpNet(cfg, Rng.of(6)));
            for (String name : a.keySet()) {
                assertThat(Tensors.toFloats(a.get(name))).as(name).containsExactly(Tensors.toFloats(b.get(name)));
                assertThat(Tensors.toFloats(a.get(name))).as(name).isNotEqualTo(Tensors.toFloats(c.get(name)));
            }
            // in_proj has fan-in 2: U(-1/sqrt 2, 1/sqrt 2); time_fc1 has fan-in 16: U(-1/4, 1/4).
            double bound2 = 1 / Math.sqrt(2);
            assertThat(a.get("in_proj.weight").abs().max().item_double()).isLessThanOrEqualTo(bound2).isGreaterThan(0.5 * bound2);
            assertThat(a.get("time_fc1.bias").abs().max().item_double()).isLessThanOrEqualTo(0.25).isGreaterThan(0.1);
        }
    }
}
