package org.diffusion4j.render;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import javax.imageio.ImageIO;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.diffusion4j.tensor.Tensors;
import org.junit.jupiter.api.Test;

class ImageGridTest {
    @Test
    void mapsMinusOneOneToBlackWhiteAndLaysOutAGrid() {
        try (PointerScope scope = new PointerScope()) {
            // Three 1x1x2 grey images: [-1, 1], [0, 0], [2, -2] (clamped).
            Tensor images = Tensors.fromFloats(new float[] {-1, 1, 0, 0, 2, -2}, 3, 1, 1, 2);
            BufferedImage g = ImageGrid.render(images, 2, 1);
            assertThat(g.getWidth()).isEqualTo(2 * (2 + 2) + 2);
            assertThat(g.getHeight()).isEqualTo(2 * (1 + 2) + 2);
            assertThat(g.getRGB(2, 2) & 0xFFFFFF).isEqualTo(0x000000);
            assertThat(g.getRGB(3, 2) & 0xFFFFFF).isEqualTo(0xFFFFFF);
            assertThat(g.getRGB(6, 2) & 0xFFFFFF).isEqualTo(0x808080);
            assertThat(g.getRGB(2, 5) & 0xFFFFFF).isEqualTo(0xFFFFFF);
            BufferedImage one = ImageGrid.single(images.narrow(0, 0, 1));
            assertThat(one.getWidth()).isEqualTo(2);
            assertThat(one.getHeight()).isEqualTo(1);
        }
    }

    @Test
    void encodesPngsInMemoryWithAnyPadding() throws Exception {
        try (PointerScope scope = new PointerScope()) {
            Tensor images = Tensors.fromFloats(new float[] {-1, 1, 0, 0}, 2, 1, 1, 2);
            BufferedImage tight = ImageGrid.render(images, 2, 3, 0);
            assertThat(tight.getWidth()).isEqualTo(2 * 2 * 3);
            assertThat(tight.getHeight()).isEqualTo(3);
            BufferedImage back = ImageIO.read(new ByteArrayInputStream(ImageGrid.png(tight)));
            assertThat(back.getWidth()).isEqualTo(12);
            assertThat(back.getRGB(3, 0) & 0xFFFFFF).isEqualTo(0xFFFFFF);
            assertThat(back.getRGB(6, 0) & 0xFFFFFF).isEqualTo(0x808080);
            assertThatThrownBy(() -> ImageGrid.render(images, 2, 1, -1)).hasMessageContaining("pad >= 0");
        }
    }

    @Test
    void rendersRgbAndRejectsOtherChannelCounts() {
        try (PointerScope scope = new PointerScope()) {
            Tensor red = Tensors.fromFloats(new float[] {1, -1, -1}, 1, 3, 1, 1);
            assertThat(ImageGrid.single(red).getRGB(0, 0) & 0xFFFFFF).isEqualTo(0xFF0000);
            Tensor two = Tensors.fromFloats(new float[] {0, 0}, 1, 2, 1, 1);
            assertThatThrownBy(() -> ImageGrid.single(two)).hasMessageContaining("1 or 3 channels, got 2");
        }
    }
}
