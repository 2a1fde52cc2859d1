package org.diffusion4j.data;

import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import org.bytedeco.pytorch.Tensor;
import org.diffusion4j.tensor.Tensors;

/** One PNG or JPEG file as a tensor: the start of img2img and the mask of inpainting. */
public final class ImageFile {
    private ImageFile() {}

    /**
     * @param file     a PNG or JPEG (grey or RGB; checked as {@link ImageFolder} checks its files)
     * @param channels 1 (grey: luma 0.299 R + 0.587 G + 0.114 B) or 3
     * @param width    the width to scale to (bilinear; the aspect ratio is not kept), 0 = the file's
     * @param height   the height to scale to, 0 = the file's
     * @return float32 [1, channels, H, W] in [0, 1]
     * @throws IOException naming the file when it cannot be read
     */
    public static Tensor read(Path file, int channels, int width, int height) throws IOException {
        check(channels, width, height);
        return toTensor(ImageFolder.decode(file), channels, width, height);
    }

    /**
     * As {@link #read}, for the bytes of a PNG or JPEG (an upload).
     *
     * @param name stands for the image in messages
     */
    public static Tensor decode(String name, byte[] data, int channels, int width, int height) throws IOException {
        check(channels, width, height);
        return toTensor(ImageFolder.decode(name, data), channels, width, height);
    }

    private static void check(int channels, int width, int height) {
        if (channels != 1 && channels != 3) {
            throw new IllegalArgumentException("channels must be 1 or 3, got " + channels);
        }
        if (width < 0 || height < 0) {
            throw new IllegalArgumentException("width and height must be >= 0 (0 = the file's), got " + width + "x"
                    + height);
        }
    }

    private static Tensor toTensor(BufferedImage decoded, int channels, int width, int height) {
        BufferedImage img = decoded;
        int w = width == 0 ? img.getWidth() : width;
        int h = height == 0 ? img.getHeight() : height;
        // Always through an RGB copy: getRGB on a grey image treats Java's grey space as linear and brightens it
        // (128 reads as 188); drawing it into RGB keeps every level.
        if (img.getType() != BufferedImage.TYPE_INT_RGB || w != img.getWidth() || h != img.getHeight()) {
            BufferedImage scaled = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
            Graphics2D g = scaled.createGraphics();
            try {
                g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BILINEAR);
                g.drawImage(img, 0, 0, w, h, null);
            } finally {
                g.dispose();
            }
            img = scaled;
        }
        float[] v = new float[channels * w * h];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int rgb = img.getRGB(x, y);
                int r = (rgb >> 16) & 0xff;
                int g = (rgb >> 8) & 0xff;
                int b = rgb & 0xff;
                int p = y * w + x;
                if (channels == 1) {
                    v[p] = (float) ((0.299 * r + 0.587 * g + 0.114 * b) / 255);
                } else {
                    v[p] = r / 255f;
                    v[w * h + p] = g / 255f;
                    v[2 * w * h + p] = b / 255f;
                }
            }
        }
        return Tensors.fromFloats(v, 1, channels, h, w);
    }
}
