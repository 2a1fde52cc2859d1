package org.diffusion4j.render;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
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

    /** Text chunks round-trip: Latin-1 values as tEXt, others as UTF-8 iTXt; keywords follow the PNG rules. */
    @Test
    void pngTextChunksRoundTripInAnyScript() throws Exception {
        BufferedImage img = new BufferedImage(3, 2,
                BufferedImage.TYPE_INT_RGB);
        img.setRGB(1, 1, 0x123456);
        Map<String, String> text = new LinkedHashMap<>();
        text.put("prompt", "ein Pferd, café");
        text.put("negative_prompt", "ぼやけた 🐴");
        text.put("parameters", "line one\nline two");
        byte[] png = ImageGrid.png(img, text);
        assertThat(ImageGrid.pngText(png)).isEqualTo(text);
        assertThat(new String(png, StandardCharsets.ISO_8859_1)).contains("tEXtprompt")
                .contains("iTXtnegative_prompt");
        assertThat(ImageIO.read(new ByteArrayInputStream(png)).getRGB(1, 1) & 0xffffff)
                .isEqualTo(0x123456);
        assertThat(ImageGrid.pngText(ImageGrid.png(img))).isEmpty();
        assertThatThrownBy(() -> ImageGrid.png(img, Map.of("", "x"))).hasMessageContaining("keyword");
        assertThatThrownBy(() -> ImageGrid.png(img, Map.of("k".repeat(80), "x")))
                .hasMessageContaining("1-79 Latin-1");
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
