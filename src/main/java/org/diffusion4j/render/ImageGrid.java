package org.diffusion4j.render;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import javax.imageio.ImageIO;
import org.bytedeco.pytorch.Tensor;
import org.diffusion4j.checkpoint.AtomicFiles;
import org.diffusion4j.tensor.Shapes;
import org.diffusion4j.tensor.Tensors;

/** Images in [-1, 1] as PNGs: one grid, or one file per image. Grey for 1 channel, RGB for 3. */
public final class ImageGrid {
    private ImageGrid() {}

    /**
     * @param images float [N, C, H, W] in [-1, 1] (clamped), C = 1 or 3
     * @param columns images per row
     * @param scale  pixel magnification (nearest)
     */
    public static BufferedImage render(Tensor images, int columns, int scale) {
        return render(images, columns, scale, 2);
    }

    /** One image [1, C, H, W] at its own size, no border: for per-sample files. */
    public static BufferedImage single(Tensor image) {
        return render(image, 1, 1, 0);
    }

    /** As {@link #render(Tensor, int, int)} with {@code pad} background pixels around and between images. */
    public static BufferedImage render(Tensor images, int columns, int scale, int pad) {
        Shapes.requireRankAtLeast(images, "images", 4);
        long[] s = Shapes.of(images);
        int n = (int) s[0];
        int c = (int) s[1];
        int h = (int) s[2];
        int w = (int) s[3];
        if (c != 1 && c != 3) {
            throw new IllegalArgumentException("images: expected 1 or 3 channels, got " + c);
        }
        if (columns < 1 || scale < 1 || pad < 0) {
            throw new IllegalArgumentException("columns and scale must be >= 1 and pad >= 0");
        }
        int rows = (n + columns - 1) / columns;
        BufferedImage img = new BufferedImage(columns * (w * scale + pad) + pad, rows * (h * scale + pad) + pad,
                BufferedImage.TYPE_INT_RGB);
        float[] v = Tensors.toFloats(images);
        for (int i = 0; i < n; i++) {
            int ox = pad + (i % columns) * (w * scale + pad);
            int oy = pad + (i / columns) * (h * scale + pad);
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    int rgb = 0;
                    for (int k = 0; k < 3; k++) {
                        int ch = c == 1 ? 0 : k;
                        float f = v[((i * c + ch) * h + y) * w + x];
                        int b = Math.round((Math.max(-1f, Math.min(1f, f)) + 1f) * 127.5f);
                        rgb = (rgb << 8) | b;
                    }
                    for (int dy = 0; dy < scale; dy++) {
                        for (int dx = 0; dx < scale; dx++) {
                            img.setRGB(ox + x * scale + dx, oy + y * scale + dy, rgb);
                        }
                    }
                }
            }
        }
        return img;
    }

    /** Writes a PNG atomically. */
    public static void writePng(BufferedImage image, Path file) throws IOException {
        AtomicFiles.write(file, png(image));
    }

    /** The PNG encoding of {@code image}. */
    public static byte[] png(BufferedImage image) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try {
            if (!ImageIO.write(image, "png", bytes)) {
                throw new IllegalStateException("no PNG writer available");
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e); // in-memory streams do not fail
        }
        return bytes.toByteArray();
    }
}
