package org.diffusion4j.model.autoencoder;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.diffusion4j.checkpoint.Json;
import org.diffusion4j.model.ParameterShapesTest;
import org.diffusion4j.tensor.Rng;
import org.junit.jupiter.api.Test;

class AutoencoderConfigTest {
    @Test
    void defaultLatentSideIsTheSmallestEvenSideCoveringTheImage() {
        AutoencoderConfig mnist = AutoencoderConfig.of(28, 1, List.of(16, 32, 64), 4);
        assertThat(mnist.factor()).isEqualTo(4);
        assertThat(mnist.latentSize()).isEqualTo(8);
        assertThat(mnist.paddedSize()).isEqualTo(32);
        assertThat(mnist.latentShape()).containsExactly(4, 8, 8);
        assertThat(mnist.imageShape()).containsExactly(1, 28, 28);
        assertThat(AutoencoderConfig.of(32, 3, List.of(16, 32, 64), 4).latentSize()).isEqualTo(8);
        assertThat(AutoencoderConfig.of(28, 1, List.of(8, 8, 8, 8), 4).latentSize()).isEqualTo(4);
        assertThat(AutoencoderConfig.of(8, 1, List.of(8), 2).latentSize()).isEqualTo(8);
    }

    @Test
    void rejectsLatentsThatDoNotCoverTheImageOrPadTooMuch() {
        assertThatThrownBy(() -> new AutoencoderConfig(28, 1, List.of(16, 32, 64), 4, 6, 1, 8))
                .hasMessageContaining("latent_size 6").hasMessageContaining("image_size 28");
        assertThatThrownBy(() -> new AutoencoderConfig(28, 1, List.of(16, 32, 64), 4, 9, 1, 8))
                .hasMessageContaining("less than 8 pixels of padding");
        assertThatThrownBy(() -> new AutoencoderConfig(28, 1, List.of(16, 30), 4, 14, 1, 8))
                .hasMessageContaining("multiples of norm_num_groups 8");
        assertThatThrownBy(() -> new AutoencoderConfig(28, 1, List.of(), 4, 14, 1, 8))
                .hasMessageContaining("must not be empty");
        assertThatThrownBy(() -> new AutoencoderConfig(28, 0, List.of(8), 4, 28, 1, 8))
                .hasMessageContaining("in_channels");
    }

    @Test
    void parameterShapesAreThoseOfTheBuiltNetwork() {
        for (AutoencoderConfig c : List.of(AutoencoderConfig.of(28, 1, List.of(16, 32, 64), 4),
                AutoencoderConfig.of(8, 3, List.of(8), 2), new AutoencoderConfig(16, 3, List.of(8, 16), 3, 8, 2, 4))) {
            try (PointerScope scope = new PointerScope()) {
                ParameterShapesTest.assertDescribes(c.parameterShapes(),
                        c.build(Rng.of(0)));
            }
        }
        assertThatThrownBy(() -> new AutoencoderConfig(28, 1, List.of(16, 32), 4, 14, 33, 8))
                .hasMessageContaining("32 layers per block");
    }

    @Test
    void roundTripsThroughItsSnakeCaseJson() {
        AutoencoderConfig c = AutoencoderConfig.of(28, 1, List.of(16, 32, 64), 4);
        assertThat(Json.toTree(c).has("block_out_channels")).isTrue();
        assertThat(Json.fromTree(Json.toTree(c), AutoencoderConfig.class, "test")).isEqualTo(c);
    }

    @Test
    void quantConvsAreOnUnlessTurnedOff() {
        AutoencoderConfig with = new AutoencoderConfig(16, 3, List.of(8, 16), 4, 8, 1, 8, null);
        assertThat(with.useQuantConv()).isTrue();
        AutoencoderConfig without = new AutoencoderConfig(16, 3, List.of(8, 16), 4, 8, 1, 8, false);
        assertThat(with.parameterShapes().asMap().keySet()).contains("quant_conv.weight", "post_quant_conv.bias");
        assertThat(without.parameterShapes().asMap().keySet()).doesNotContain("quant_conv.weight", "post_quant_conv.bias")
                .contains("encoder.conv_out.weight");
    }
}
