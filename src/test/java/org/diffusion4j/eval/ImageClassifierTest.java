package org.diffusion4j.eval;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.bytedeco.javacpp.PointerScope;
import org.diffusion4j.data.LabeledImages;
import org.diffusion4j.data.Mnist;
import org.diffusion4j.tensor.Rng;
import org.diffusion4j.testing.Shared;
import org.junit.jupiter.api.Test;

class ImageClassifierTest {
    @Test
    void learnsMnistDigitsAndRejectsWrongShapes() throws IOException {
        Path d = Shared.mnist();
        LabeledImages train = Mnist.MNIST.load(d, true);
        LabeledImages test = Mnist.MNIST.load(d, false);
        ImageClassifier c = ImageClassifier.train(train, 400, 0);
        double acc = c.accuracy(test);
        System.out.printf("MNIST MLP classifier after 400 steps: test accuracy %.3f%n", acc);
        assertThat(acc).isGreaterThan(0.9);
        try (PointerScope scope = new PointerScope()) {
            long[] p = c.predict(Rng.of(1).randn(3, 1, 28, 28));
            assertThat(p).hasSize(3);
            for (long k : p) {
                assertThat(k).isBetween(0L, 9L);
            }
            assertThatThrownBy(() -> c.predict(Rng.of(1).randn(3, 1, 32, 32))).hasMessageContaining("images");
        }
        LabeledImages unlabelled = new LabeledImages(new byte[784], null, 1, 1, 28, 28, 10, "x");
        assertThatThrownBy(() -> ImageClassifier.train(unlabelled, 1, 0)).hasMessageContaining("x has no labels");
    }
}
