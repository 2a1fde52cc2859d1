package org.diffusion4j.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.LinkedHashMap;
import java.util.Map;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;

public class ParameterShapesTest {
    /** Asserts that {@code shapes} lists exactly the module's parameters with their shapes. */
    public static void assertDescribes(ParameterShapes shapes, Module module) {
        Map<String, Tensor> built = Parameters.named(module);
        assertThat(shapes.asMap().keySet()).containsExactlyInAnyOrderElementsOf(built.keySet());
        built.forEach((name, t) -> assertThat(shapes.asMap().get(name)).as(name).containsExactly(t.sizes().vec().get()));
        assertThat(shapes.count()).isEqualTo(Parameters.count(module));
    }

    @Test
    void layersAddTheirWeightAndBiasShapes() {
        ParameterShapes p = new ParameterShapes().linear("fc", 3, 5).conv("conv", 2, 4, 3).groupNorm("norm", 4);
        assertThat(p.asMap().keySet()).containsExactly("fc.weight", "fc.bias", "conv.weight", "conv.bias",
                "norm.weight", "norm.bias");
        assertThat(p.asMap().get("fc.weight")).containsExactly(5, 3);
        assertThat(p.asMap().get("conv.weight")).containsExactly(4, 2, 3, 3);
        assertThat(p.count()).isEqualTo(15 + 5 + 72 + 4 + 8);
        assertThat(p.bytes()).isEqualTo(4 * p.count());
        assertThatThrownBy(() -> p.add("fc.bias", 5)).hasMessageContaining("'fc.bias' added twice");
        assertThatThrownBy(() -> p.add("x", 2, 0)).hasMessageContaining("x: dimension 0");
    }

    @Test
    void countsSaturateInsteadOfOverflowing() {
        ParameterShapes huge = new ParameterShapes().add("a", 1L << 40, 1L << 40).add("b", 1L << 62, 4);
        assertThat(huge.count()).isEqualTo(Long.MAX_VALUE);
        assertThat(huge.bytes()).isEqualTo(Long.MAX_VALUE);
        assertThat(ParameterShapes.numel(new long[] {1L << 31, 1L << 31, 4})).isEqualTo(Long.MAX_VALUE);
        assertThat(new ParameterShapes().add("c", 1L << 30, 2).bytes()).isEqualTo(8L << 30);
    }

    @Test
    void aHeaderMustDeclareExactlyTheParametersUnderItsPrefix() {
        ParameterShapes p = new ParameterShapes().linear("fc", 3, 5);
        Map<String, long[]> declared = new LinkedHashMap<>();
        declared.put("model.fc.weight", new long[] {5, 3});
        declared.put("model.fc.bias", new long[] {5});
        declared.put("ema.fc.weight", new long[] {5, 3});
        p.requireMatch(declared, "model.", "f.safetensors");
        assertThatThrownBy(() -> p.requireMatch(declared, "ema.", "f.safetensors"))
                .hasMessage("f.safetensors: missing tensor 'ema.fc.bias' (shape [5])");
        declared.put("model.fc.weight", new long[] {65536, 3});
        assertThatThrownBy(() -> p.requireMatch(declared, "model.", "f.safetensors")).hasMessage(
                "f.safetensors: tensor 'model.fc.weight' has shape [65536, 3] but the config builds [5, 3] "
                        + "(config and weights do not belong together)");
        declared.put("model.fc.weight", new long[] {5, 3});
        declared.put("model.extra", new long[] {1});
        assertThatThrownBy(() -> p.requireMatch(declared, "model.", "f.safetensors"))
                .hasMessageContaining("unexpected tensor 'model.extra'");
    }
}
