package org.diffusion4j.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.LinkedHashMap;
import java.util.Map;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.diffusion4j.model.mlp.MlpConfig;
import org.diffusion4j.model.mlp.MlpNet;
import org.diffusion4j.tensor.Rng;
import org.diffusion4j.tensor.Tensors;
import org.junit.jupiter.api.Test;

class ParametersTest {
    private static final MlpConfig CFG = new MlpConfig(2, 8, 1, 4);

    @Test
    void namesCountAndLoadRoundTrip() {
        try (PointerScope scope = new PointerScope()) {
            MlpNet src = new MlpNet(CFG, Rng.of(1));
            MlpNet dst = new MlpNet(CFG, Rng.of(2));
            Map<String, Tensor> p = Parameters.named(src);
            assertThat(p.keySet()).startsWith("time_fc1.weight", "time_fc1.bias").contains("out_proj.bias");
            // 4*8+8 + 8*8+8 + 2*8+8 + 2*(8*8+8) + 8*2+2
            assertThat(Parameters.count(src)).isEqualTo(40 + 72 + 24 + 144 + 18);
            Parameters.load(dst, p, "test");
            for (Map.Entry<String, Tensor> e : Parameters.named(dst).entrySet()) {
                assertThat(Tensors.toFloats(e.getValue())).containsExactly(Tensors.toFloats(p.get(e.getKey())));
            }
        }
    }

    @Test
    void loadRefusesMissingExtraAndMisshapenTensors() {
        try (PointerScope scope = new PointerScope()) {
            MlpNet net = new MlpNet(CFG, Rng.of(1));
            Map<String, Tensor> p = new LinkedHashMap<>(Parameters.named(net));
            Map<String, Tensor> missing = new LinkedHashMap<>(p);
            missing.remove("out_proj.bias");
            assertThatThrownBy(() -> Parameters.load(net, missing, "ck.safetensors"))
                    .hasMessage("ck.safetensors: missing parameter 'out_proj.bias'");
            Map<String, Tensor> extra = new LinkedHashMap<>(p);
            extra.put("bogus.weight", torch.zeros(1));
            assertThatThrownBy(() -> Parameters.load(net, extra, "ck.safetensors"))
                    .hasMessageContaining("unexpected tensor 'bogus.weight'");
            Map<String, Tensor> shape = new LinkedHashMap<>(p);
            shape.put("out_proj.bias", torch.zeros(3));
            assertThatThrownBy(() -> Parameters.load(net, shape, "ck.safetensors"))
                    .hasMessageContaining("'out_proj.bias' has shape [3] but the model needs [2]");
        }
    }

    @Test
    void loadRefusesNonFiniteWeightsNamingTheParameter() {
        try (PointerScope scope = new PointerScope()) {
            MlpNet net = new MlpNet(CFG, Rng.of(1));
            Map<String, Tensor> p = new LinkedHashMap<>(Parameters.named(net));
            Map<String, Tensor> nan = new LinkedHashMap<>(p);
            Tensor w = p.get("in_proj.weight").clone();
            w.narrow(0, 3, 1).fill_(Tensors.scalar(Double.NaN));
            nan.put("in_proj.weight", w);
            assertThatThrownBy(() -> Parameters.load(net, nan, "ck.safetensors"))
                    .hasMessage("ck.safetensors: parameter 'in_proj.weight' holds NaN or infinite values (a diverged "
                            + "or damaged checkpoint)");
            Map<String, Tensor> inf = new LinkedHashMap<>(p);
            inf.put("out_proj.bias", torch.full(new long[] {2}, Tensors.scalar(Double.POSITIVE_INFINITY)));
            assertThatThrownBy(() -> Parameters.load(net, inf, "ck.safetensors"))
                    .hasMessageContaining("'out_proj.bias' holds NaN or infinite values");
        }
    }
}
