package org.diffusion4j.render;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;

/** Side-by-side panels of 1-D signals (data vs samples), each signal a line, drawn with java.awt (headless). */
public final class LinePlot {
    private static final int WIDTH = 420;
    private static final int HEIGHT = 300;
    private static final int MARGIN = 30;
    private static final int HEADER = 40;
    private static final int FOOTER = 30;

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
        int width = signals.length * (WIDTH + MARGIN) + MARGIN;
        int height = HEADER + HEIGHT + FOOTER + MARGIN;
        BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, width, height);
            Color[] colors = {new Color(31, 119, 180, 110), new Color(255, 127, 14, 110)};
            for (int p = 0; p < signals.length; p++) {
                int x0 = MARGIN + p * (WIDTH + MARGIN);
                Plots.panel(g, titles[p], x0, HEADER, WIDTH, HEIGHT);
                g.setColor(colors[p % colors.length]);
                g.setStroke(new BasicStroke(1.2f));
                float[] s = signals[p];
                for (int r = 0; r + 1 <= s.length / length; r++) {
                    int px = -1;
                    int py = -1;
                    for (int j = 0; j < length; j++) {
                        int x = x0 + j * (WIDTH - 1) / (length - 1);
                        double v = Math.max(lo, Math.min(hi, s[r * length + j]));
                        int y = HEADER + HEIGHT - (int) Math.round((v - lo) / (hi - lo) * HEIGHT);
                        if (px >= 0) {
                            g.drawLine(px, py, x, y);
                        }
                        px = x;
                        py = y;
                    }
                }
            }
            Plots.footer(g, footer, MARGIN, HEADER + HEIGHT + FOOTER);
        } finally {
            g.dispose();
        }
        return img;
    }
}
