package org.diffusion4j.render;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.image.BufferedImage;

/** Side-by-side panels of 1-D signals (data vs samples), each signal a line, drawn with java.awt (headless). */
public final class LinePlot {
    private static final int WIDTH = 420;
    private static final int HEIGHT = 300;

    private LinePlot() {}

    /**
     * @param titles  one per panel
     * @param signals per panel, row-major [n, length] values
     * @param length  samples per signal
     * @param footer  a line under the panels, or null
     */
    public static BufferedImage render(String[] titles, float[][] signals, int length, String footer) {
        if (titles.length != signals.length || signals.length == 0 || length < 2) {
            throw new IllegalArgumentException("need one title per panel and signals of at least 2 samples");
        }
        double[] range = Plots.range(signals[0]);
        double lo = range[0];
        double hi = range[1];
        int top = Plots.HEADER;
        Color[] colors = {new Color(31, 119, 180, 110), new Color(255, 127, 14, 110)};
        return Plots.canvas(titles, WIDTH, HEIGHT, colors, footer, (g, p, x0) -> {
            g.setStroke(new BasicStroke(1.2f));
            float[] s = signals[p];
            for (int r = 0; r + 1 <= s.length / length; r++) {
                int px = -1;
                int py = -1;
                for (int j = 0; j < length; j++) {
                    int x = x0 + j * (WIDTH - 1) / (length - 1);
                    double v = Math.max(lo, Math.min(hi, s[r * length + j]));
                    int y = top + HEIGHT - (int) Math.round((v - lo) / (hi - lo) * HEIGHT);
                    if (px >= 0) {
                        g.drawLine(px, py, x, y);
                    }
                    px = x;
                    py = y;
                }
            }
        });
    }
}
