package org.diffusion4j.eval;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.diffusion4j.checkpoint.Safetensors;
import org.diffusion4j.data.LabeledImages;
import org.diffusion4j.testing.Bars;
import org.diffusion4j.tensor.Torch;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FeatureExtractorTest {
    @TempDir
    Path dir;

    @BeforeAll
    static void init() {
        Torch.init();
    }

    @Test
    void learnsTheClassesAndRoundTripsThroughItsFile() throws Exception {
        LabeledImages train = Bars.images(512, 1);
        LabeledImages test = Bars.images(200, 2);
        FeatureExtractor f = FeatureExtractor.train(train, test, 150, 7, Map.of("command", "test"));
        assertThat(f.accuracy(test)).isGreaterThan(0.95);
        assertThat(f.metadata()).containsEntry("format", FeatureExtractor.FORMAT).containsEntry("data", "bars")
                .containsEntry("classes", "2").containsEntry("image_shape", "1x8x8").containsEntry("steps", "150")
                .containsEntry("seed", "7").containsEntry("command", "test");
        assertThat(Double.parseDouble(f.metadata().get("test_accuracy"))).isEqualTo(f.accuracy(test));

        Path file = dir.resolve("x.safetensors");
        f.save(file);
        FeatureExtractor back = FeatureExtractor.load(file);
        assertThat(back.metadata()).isEqualTo(f.metadata());
        Tensor images = test.slice(0, 16);
        FeatureExtractor.Output a = f.apply(images);
        FeatureExtractor.Output b = back.apply(images);
        assertThat(shape(a.features())).containsExactly(16, FeatureExtractor.FEATURES);
        assertThat(shape(a.probabilities())).containsExactly(16, 2);
        assertThat(torch.equal(a.features(), b.features())).isTrue();
        assertThat(a.probabilities().sum(1).sub(torch.ones(16).to(torch.ScalarType.Double)).abs().max().item_double())
                .isLessThan(1e-6);
        // Batched application equals one pass, up to float rounding (kernels may block differently per batch size).
        assertThat(f.applyAll(test.slice(0, test.count())).features().narrow(0, 0, 16).sub(a.features()).abs().max()
                .item_double()).isLessThan(1e-5 * Math.max(1, a.features().abs().max().item_double()));
    }

    private static long[] shape(Tensor t) {
        return t.sizes().vec().get();
    }

    @Test
    void refusesWhatItCannotReadNamingTheFile() throws Exception {
        Path other = dir.resolve("other.safetensors");
        Safetensors.write(other, Map.of("w", torch.zeros(2)), Map.of("format", "diffusion4j-checkpoint"));
        assertThatThrownBy(() -> FeatureExtractor.load(other)).hasMessageContaining(other.toString())
                .hasMessageContaining("not a feature extractor");
        Path shape = dir.resolve("shape.safetensors");
        Safetensors.write(shape, Map.of("w", torch.zeros(2)), Map.of("format", FeatureExtractor.FORMAT,
                "image_shape", "1x6x6", "classes", "2"));
        assertThatThrownBy(() -> FeatureExtractor.load(shape)).hasMessageContaining(shape.toString())
                .hasMessageContaining("divisible by 4");
        Path garbled = dir.resolve("garbled.safetensors");
        Safetensors.write(garbled, Map.of("w", torch.zeros(2)), Map.of("format", FeatureExtractor.FORMAT,
                "image_shape", "axb", "classes", "2"));
        assertThatThrownBy(() -> FeatureExtractor.load(garbled)).hasMessageContaining("image_shape");
        Path missing = dir.resolve("missing.safetensors");
        Safetensors.write(missing, Map.of("conv1.weight", torch.zeros(32, 1, 3, 3)), Map.of("format",
                FeatureExtractor.FORMAT, "image_shape", "1x8x8", "classes", "2"));
        assertThatThrownBy(() -> FeatureExtractor.load(missing)).hasMessageContaining(missing.toString())
                .hasMessageContaining("missing parameter");
    }

    @Test
    void checksItsInputs() {
        LabeledImages unlabelled = new LabeledImages(new byte[64], null, 1, 1, 8, 8, 1, "u");
        assertThatThrownBy(() -> FeatureExtractor.train(unlabelled, unlabelled, 1, 0, Map.of()))
                .hasMessageContaining("no labels");
        LabeledImages bars = Bars.images(8, 1);
        assertThatThrownBy(() -> FeatureExtractor.train(bars, bars, 0, 0, Map.of())).hasMessageContaining("--steps");
        FeatureExtractor f = FeatureExtractor.train(bars, bars, 1, 0, Map.of());
        assertThatThrownBy(() -> f.apply(torch.zeros(2, 1, 28, 28))).hasMessageContaining("images");
    }
}
