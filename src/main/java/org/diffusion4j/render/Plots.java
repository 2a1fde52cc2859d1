package org.diffusion4j.render;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;

/** What the plot renderers share: the value range of the reference set and a canvas of framed panels. */
final class Plots {
    static final int MARGIN = 30;
    static final int HEADER = 40;
    static final int FOOTER = 30;

    private Plots() {}

    /** Paints panel {@code p}, whose framed area starts at ({@code x0}, {@link #HEADER}), in its colour. */
    @FunctionalInterface
    interface Painter {
        void paint(Graphics2D g, int p, int x0);
    }

    /**
     * A white canvas with one titled, framed panel of {@code width} x {@code height} per title, side by side, each
     * painted by {@code painter} with antialiasing in {@code colors[p % colors.length]}, and {@code footer} under them.
     */
    static BufferedImage canvas(String[] titles, int width, int height, Color[] colors, String footer,
                                Painter painter) {
        int total = titles.length * (width + MARGIN) + MARGIN;
        int tall = HEADER + height + FOOTER + MARGIN;
        BufferedImage img = new BufferedImage(total, tall, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, total, tall);
            for (int p = 0; p < titles.length; p++) {
                int x0 = MARGIN + p * (width + MARGIN);
                panel(g, titles[p], x0, HEADER, width, height);
                g.setColor(colors[p % colors.length]);
                painter.paint(g, p, x0);
            }
            footer(g, footer, MARGIN, HEADER + height + FOOTER);
        } finally {
            g.dispose();
        }
        return img;
    }

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
    private static void panel(Graphics2D g, String title, int x0, int top, int width, int height) {
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
    private static void footer(Graphics2D g, String text, int x, int y) {
        if (text != null) {
            g.setColor(Color.DARK_GRAY);
            g.setFont(new Font(Font.MONOSPACED, Font.PLAIN, 13));
            g.drawString(text, x, y);
        }
    }
}
