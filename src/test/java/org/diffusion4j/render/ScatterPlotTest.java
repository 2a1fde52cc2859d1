package org.diffusion4j.render;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ScatterPlotTest {
    @TempDir
    Path dir;

    @Test
    void drawsPointsInTheirPanelsAndWritesAPng() throws IOException {
        System.setProperty("java.awt.headless", "true");
        float[] left = {0, 0, 1, 1};
        float[] right = {0.5f, 0.5f};
        BufferedImage img = ScatterPlot.render(new String[] {"a", "b"}, new float[][] {left, right}, "footer");
        assertThat(img.getWidth()).isGreaterThan(img.getHeight());
        Path f = dir.resolve("p.png");
        ImageGrid.writePng(img, f);
        BufferedImage back = ImageIO.read(f.toFile());
        assertThat(back.getWidth()).isEqualTo(img.getWidth());
        // The right panel's only point is at its centre: coloured (not the grey background) there.
        int cx = 30 + 420 + 30 + 210;
        int cy = 40 + 210;
        int rgb = back.getRGB(cx, cy) & 0xFFFFFF;
        assertThat(rgb).isNotEqualTo(0xEBEBEB);
        assertThat(back.getRGB(cx + 100, cy + 100) & 0xFFFFFF).isEqualTo(0xEBEBEB);
    }

    @Test
    void needsOneTitlePerPanel() {
        assertThatThrownBy(() -> ScatterPlot.render(new String[] {"a"}, new float[][] {}, null))
                .hasMessageContaining("one title per point set");
    }
}
