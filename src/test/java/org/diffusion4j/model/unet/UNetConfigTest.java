package org.diffusion4j.model.unet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.diffusion4j.model.ParameterShapesTest;
import org.diffusion4j.tensor.Rng;
import org.junit.jupiter.api.Test;

class UNetConfigTest {
    @Test
    void parameterShapesAreThoseOfTheBuiltNetwork() {
        List<UNetConfig> configs = List.of(UNetConfig.small(28, 1, null), UNetConfig.small(16, 3, 11),
                UNetConfig.attentionBelowTop(8, 2, List.of(8), null),
                new UNetConfig(16, 3, 2, List.of(8, 16, 16), 2, List.of("AttnDownBlock2D", "DownBlock2D",
                        "AttnDownBlock2D"), List.of("UpBlock2D", "AttnUpBlock2D", "AttnUpBlock2D"), 4, 4, false, 1,
                        null, 1e-6, 0));
        for (UNetConfig c : configs) {
            try (PointerScope scope = new PointerScope()) {
                ParameterShapesTest.assertDescribes(c.parameterShapes(), new UNet2DModel(c, Rng.of(0)));
            }
        }
    }

    @Test
    void refusesSizesBeyondItsLimitsNamingTheField() {
        UNetConfig c = UNetConfig.small(28, 1, null);
        assertThatThrownBy(() -> new UNetConfig(32, 1, 1, List.of(32, 64), 50, List.of("DownBlock2D", "DownBlock2D"),
                List.of("UpBlock2D", "UpBlock2D"), 8, null, true, 0, null, 1e-5, 1))
                .hasMessage("layers_per_block 50 is more than the 32 allowed");
        assertThatThrownBy(() -> new UNetConfig(32, 1, 1, List.of(65536), 1, List.of("DownBlock2D"),
                List.of("UpBlock2D"), 8, null, true, 0, null, 1e-5, 1))
                .hasMessage("block_out_channels entry 65536 is more than the 32768 allowed");
        assertThatThrownBy(() -> new UNetConfig(28, 1, 1, c.blockOutChannels(), 1, c.downBlockTypes(),
                c.upBlockTypes(), 8, null, true, 0, 1 << 21, 1e-5, 1)).hasMessageContaining("num_class_embeds");
        // Within the limits, a config can still describe more than any machine here holds: the loaders compare it
        // with the weights and the memory before building (see Models.requireTensors).
        UNetConfig wide = new UNetConfig(32, 3, 3, List.of(32768, 32768), 32, List.of("DownBlock2D", "DownBlock2D"),
                List.of("UpBlock2D", "UpBlock2D"), 32, null, true, 0, null, 1e-5, 1);
        assertThat(wide.parameterShapes().bytes()).isGreaterThan(1L << 40);
    }

    /** A head size of 0 or less is refused by name (the fuzzer found 0 dividing by zero in the head check). */
    @Test
    void refusesAHeadSizeBelowOne() {
        for (int bad : new int[] {0, -4}) {
            assertThatThrownBy(() -> new UNetConfig(16, 3, 3, List.of(16, 32), 1, List.of("DownBlock2D",
                    "AttnDownBlock2D"), List.of("AttnUpBlock2D", "UpBlock2D"), 8, bad, true, 0, null, 1e-5, 1))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("attention_head_dim must be >= 1, got " + bad);
        }
    }
}
