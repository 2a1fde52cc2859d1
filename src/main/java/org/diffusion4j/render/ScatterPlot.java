package org.diffusion4j.render;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;

/** Side-by-side scatter plots of 2-D point sets (data vs samples) as a PNG, drawn with java.awt (headless). */
public final class ScatterPlot {
    private static final int PANEL = 420;
    private static final int MARGIN = 30;
    private static final int HEADER = 40;
    private static final int FOOTER = 30;

    private ScatterPlot() {}

    /**
     * Renders one panel per point set, all on the same axes.
     *
     * @param titles one per panel
     * @param points flat [x0, y0, x1, y1, ...] arrays, one per panel
     * @param footer a line of text under the panels (e.g. metrics), or null
     */
    public static BufferedImage render(String[] titles, float[][] points, String footer) {
        if (titles.length != points.length || points.length == 0) {
            throw new IllegalArgumentException("need one title per point set, got " + titles.length + " and "
                    + points.length);
        }
        double[] bounds = bounds(points[0]);
        int width = points.length * (PANEL + MARGIN) + MARGIN;
        int height = HEADER + PANEL + FOOTER + MARGIN;
        BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, width, height);
            Color[] colors = {new Color(31, 119, 180, 90), new Color(255, 127, 14, 90), new Color(44, 160, 44, 90)};
            for (int p = 0; p < points.length; p++) {
                int x0 = MARGIN + p * (PANEL + MARGIN);
                Plots.panel(g, titles[p], x0, HEADER, PANEL, PANEL);
                g.setColor(colors[p % colors.length]);
                float[] pts = points[p];
                for (int i = 0; i + 1 < pts.length; i += 2) {
                    int px = x0 + (int) Math.round((pts[i] - bounds[0]) / (bounds[1] - bounds[0]) * PANEL);
                    int py = HEADER + PANEL - (int) Math.round((pts[i + 1] - bounds[2]) / (bounds[3] - bounds[2]) * PANEL);
                    if (px >= x0 && px <= x0 + PANEL && py >= HEADER && py <= HEADER + PANEL) {
                        g.fillOval(px - 2, py - 2, 4, 4);
                    }
                }
            }
            Plots.footer(g, footer, MARGIN, HEADER + PANEL + FOOTER);
        } finally {
            g.dispose();
        }
        return img;
    }

    /** A square view around the reference set, with 10% margin: [xmin, xmax, ymin, ymax]. */
    private static double[] bounds(float[] pts) {
        double[] r = Plots.range(pts);
        return new double[] {r[0], r[1], r[0], r[1]};
    }
}
