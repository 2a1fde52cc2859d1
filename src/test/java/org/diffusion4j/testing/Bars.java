package org.diffusion4j.testing;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;
import javax.imageio.ImageIO;
import org.diffusion4j.data.LabeledImages;

/**
 * Tiny labelled images for fast tests: 8x8 grey, class 0 a horizontal bar, class 1 a vertical bar, each two pixels
 * thick at a random position and brightness.
 */
public final class Bars {
    private Bars() {}

    public static LabeledImages images(int count, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        byte[] px = new byte[count * 64];
        byte[] labels = new byte[count];
        for (int i = 0; i < count; i++) {
            int label = i % 2;
            int pos = r.nextInt(7);
            int value = 128 + r.nextInt(128);
            labels[i] = (byte) label;
            for (int a = 0; a < 8; a++) {
                for (int t = 0; t < 2; t++) {
                    int row = label == 0 ? pos + t : a;
                    int col = label == 0 ? a : pos + t;
                    px[i * 64 + row * 8 + col] = (byte) value;
                }
            }
        }
        return new LabeledImages(px, labels, count, 1, 8, 8, 2, "bars");
    }

    /** Writes {@code images} as grey PNGs 000.png, 001.png, ... into {@code dir} (an image folder for folder: ids). */
    public static Path writePngs(LabeledImages images, Path dir) throws IOException {
        Files.createDirectories(dir);
        int size = images.height() * images.width();
        for (int i = 0; i < images.count(); i++) {
            var img = new BufferedImage(images.width(), images.height(),
                    BufferedImage.TYPE_BYTE_GRAY);
            img.getRaster().setDataElements(0, 0, images.width(), images.height(),
                    Arrays.copyOfRange(images.pixels(), i * size, (i + 1) * size));
            ImageIO.write(img, "png", dir.resolve(String.format("%03d.png", i)).toFile());
        }
        return dir;
    }

    /**
     * The class an 8x8 image [-1, 1] looks like: 0 when its rows differ more than its columns (a horizontal bar).
     *
     * @param pixels 64 values, row-major
     */
    public static int classify(float[] pixels, int offset) {
        double rowVar = 0;
        double colVar = 0;
        double[] rows = new double[8];
        double[] cols = new double[8];
        for (int y = 0; y < 8; y++) {
            for (int x = 0; x < 8; x++) {
                rows[y] += pixels[offset + y * 8 + x] / 8;
                cols[x] += pixels[offset + y * 8 + x] / 8;
            }
        }
        double rm = Arrays.stream(rows).average().orElse(0);
        double cm = Arrays.stream(cols).average().orElse(0);
        for (int k = 0; k < 8; k++) {
            rowVar += (rows[k] - rm) * (rows[k] - rm);
            colVar += (cols[k] - cm) * (cols[k] - cm);
        }
        return rowVar > colVar ? 0 : 1;
    }
}
