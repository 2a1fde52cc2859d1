package org.diffusion4j.render;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Path;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.diffusion4j.tensor.Rng;
import org.diffusion4j.tensor.Tensors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DenoisingGifTest {
    @TempDir
    Path dir;

    @Test
    void keepsEveryNthStepAndTheLastAndWritesAnAnimation() throws IOException {
        DenoisingGif gif = new DenoisingGif(3, 4);
        try (PointerScope scope = new PointerScope()) {
            Tensor x = Rng.of(1).randn(5, 1, 4, 4);
            for (int i = 0; i < 10; i++) {
                gif.onStep(i, 10, x, x.mul(Tensors.scalar(0.5)));
            }
        }
        // Steps 0, 4, 8 and the last, 9.
        assertThat(gif.frameCount()).isEqualTo(4);
        Path f = dir.resolve("t.gif");
        gif.write(f, 80);
        ImageReader reader = ImageIO.getImageReadersByFormatName("gif").next();
        try (ImageInputStream in = ImageIO.createImageInputStream(f.toFile())) {
            reader.setInput(in);
            assertThat(reader.getNumImages(true)).isEqualTo(4);
            // Two strips of 3 images of 4x4 at 2x with borders, 8 px apart.
            int strip = 3 * (4 * 2 + 2) + 2;
            assertThat(reader.read(0).getWidth()).isEqualTo(2 * strip + 8);
        } finally {
            reader.dispose();
        }
        assertThatThrownBy(() -> new DenoisingGif(3, 4).write(dir.resolve("e.gif"), 80)).hasMessageContaining("no frames");
    }
}
