package org.diffusion4j.render;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.awt.image.BufferedImage;
import org.junit.jupiter.api.Test;

class LinePlotTest {
    @Test
    void drawsOnePanelPerSetWithLines() {
        float[] ramp = new float[2 * 8];
        for (int i = 0; i < ramp.length; i++) {
            ramp[i] = i % 8;
        }
        BufferedImage img = LinePlot.render(new String[] {"a", "b"}, new float[][] {ramp, ramp}, 8, "footer");
        assertThat(img.getWidth()).isEqualTo(2 * (420 + 30) + 30);
        int coloured = 0;
        for (int x = 0; x < img.getWidth(); x++) {
            for (int y = 0; y < img.getHeight(); y++) {
                int rgb = img.getRGB(x, y) & 0xffffff;
                int r = rgb >> 16;
                int b = rgb & 0xff;
                coloured += Math.abs(r - b) > 60 ? 1 : 0;
            }
        }
        assertThat(coloured).as("pixels of the drawn lines").isGreaterThan(500);
        assertThatThrownBy(() -> LinePlot.render(new String[] {"a"}, new float[][] {ramp, ramp}, 8, null))
                .hasMessageContaining("one title per panel");
    }
}
