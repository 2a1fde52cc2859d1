package org.diffusion4j.render;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;

/** What the plot renderers share: the value range of the reference set and the framing of a panel. */
final class Plots {
    private Plots() {}

    /** [lo, hi] of the finite values with 10% padding; [-1.2, 1.2] when there is no spread. */
    static double[] range(float[] values) {
        double lo = Double.POSITIVE_INFINITY;
        double hi = Double.NEGATIVE_INFINITY;
        for (float v : values) {
            if (Float.isFinite(v)) {
                lo = Math.min(lo, v);
                hi = Math.max(hi, v);
            }
        }
        if (!(hi > lo)) {
            lo = -1;
            hi = 1;
        }
        double pad = 0.1 * (hi - lo);
        return new double[] {lo - pad, hi + pad};
    }

    /** The title above, and a grey framed area of {@code width} x {@code height} at (x0, top). */
    static void panel(Graphics2D g, String title, int x0, int top, int width, int height) {
        g.setColor(Color.BLACK);
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 15));
        g.drawString(title, x0, top - 12);
        g.setColor(new Color(235, 235, 235));
        g.fillRect(x0, top, width, height);
        g.setColor(Color.GRAY);
        g.setStroke(new BasicStroke(1f));
        g.drawRect(x0, top, width, height);
    }

    /** A line of text (e.g. the metrics) at (x, y), unless null. */
    static void footer(Graphics2D g, String text, int x, int y) {
        if (text != null) {
            g.setColor(Color.DARK_GRAY);
            g.setFont(new Font(Font.MONOSPACED, Font.PLAIN, 13));
            g.drawString(text, x, y);
        }
    }
}
