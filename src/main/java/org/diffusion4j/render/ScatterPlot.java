package org.diffusion4j.render;

import java.awt.Color;
import java.awt.image.BufferedImage;

/** Side-by-side scatter plots of 2-D point sets (data vs samples) as a PNG, drawn with java.awt (headless). */
public final class ScatterPlot {
    private static final int PANEL = 420;

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
        int top = Plots.HEADER;
        Color[] colors = {new Color(31, 119, 180, 90), new Color(255, 127, 14, 90), new Color(44, 160, 44, 90)};
        return Plots.canvas(titles, PANEL, PANEL, colors, footer, (g, p, x0) -> {
            float[] pts = points[p];
            for (int i = 0; i + 1 < pts.length; i += 2) {
                int px = x0 + (int) Math.round((pts[i] - bounds[0]) / (bounds[1] - bounds[0]) * PANEL);
                int py = top + PANEL - (int) Math.round((pts[i + 1] - bounds[2]) / (bounds[3] - bounds[2]) * PANEL);
                if (px >= x0 && px <= x0 + PANEL && py >= top && py <= top + PANEL) {
                    g.fillOval(px - 2, py - 2, 4, 4);
                }
            }
        });
    }

    /** A square view around the reference set, with 10% margin: [xmin, xmax, ymin, ymax]. */
    private static double[] bounds(float[] pts) {
        double[] r = Plots.range(pts);
        return new double[] {r[0], r[1], r[0], r[1]};
    }
}
