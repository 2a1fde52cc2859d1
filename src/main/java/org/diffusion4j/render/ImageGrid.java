package org.diffusion4j.render;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.io.ByteArrayInputStream;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.ImageTypeSpecifier;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.metadata.IIOMetadata;
import javax.imageio.metadata.IIOMetadataNode;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.ImageOutputStream;
import org.bytedeco.pytorch.Tensor;
import org.diffusion4j.checkpoint.AtomicFiles;
import org.diffusion4j.tensor.Shapes;
import org.diffusion4j.tensor.Tensors;
import org.w3c.dom.NamedNodeMap;
import org.w3c.dom.Node;

/** Images in [-1, 1] as PNGs: one grid, or one file per image. Grey for 1 channel, RGB for 3. */
public final class ImageGrid {
    private static final String PNG_FORMAT = "javax_imageio_png_1.0";
    private static final Charset LATIN1 = StandardCharsets.ISO_8859_1;

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

    /** Writes a PNG carrying {@code text} atomically (see {@link #png(BufferedImage, Map)}). */
    public static void writePng(BufferedImage image, Path file, Map<String, String> text) throws IOException {
        AtomicFiles.write(file, png(image, text));
    }

    /**
     * The PNG encoding of {@code image} with one text chunk per entry, in order: tEXt when the value is Latin-1 (what
     * every viewer shows), else UTF-8 iTXt. Keywords are 1-79 Latin-1 characters, as the PNG specification requires.
     */
    public static byte[] png(BufferedImage image, Map<String, String> text) {
        ImageWriter writer = ImageIO.getImageWritersByFormatName("png").next();
        try {
            ImageWriteParam param = writer.getDefaultWriteParam();
            IIOMetadata meta = writer.getDefaultImageMetadata(ImageTypeSpecifier.createFromRenderedImage(image), param);
            IIOMetadataNode root = new IIOMetadataNode(PNG_FORMAT);
            IIOMetadataNode latin = new IIOMetadataNode("tEXt");
            IIOMetadataNode utf8 = new IIOMetadataNode("iTXt");
            for (Map.Entry<String, String> e : text.entrySet()) {
                String k = e.getKey();
                if (k.isEmpty() || k.length() > 79 || !LATIN1.newEncoder().canEncode(k)) {
                    throw new IllegalArgumentException("PNG text keyword must be 1-79 Latin-1 characters, got '" + k
                            + "'");
                }
                if (LATIN1.newEncoder().canEncode(e.getValue())) {
                    IIOMetadataNode entry = new IIOMetadataNode("tEXtEntry");
                    entry.setAttribute("keyword", k);
                    entry.setAttribute("value", e.getValue());
                    latin.appendChild(entry);
                } else {
                    IIOMetadataNode entry = new IIOMetadataNode("iTXtEntry");
                    entry.setAttribute("keyword", k);
                    entry.setAttribute("compressionFlag", "FALSE");
                    entry.setAttribute("compressionMethod", "0");
                    entry.setAttribute("languageTag", "");
                    entry.setAttribute("translatedKeyword", "");
                    entry.setAttribute("text", e.getValue());
                    utf8.appendChild(entry);
                }
            }
            if (latin.hasChildNodes()) {
                root.appendChild(latin);
            }
            if (utf8.hasChildNodes()) {
                root.appendChild(utf8);
            }
            meta.mergeTree(PNG_FORMAT, root);
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            try (ImageOutputStream out = ImageIO.createImageOutputStream(bytes)) {
                writer.setOutput(out);
                writer.write(null, new IIOImage(image, null, meta), param);
            }
            return bytes.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e); // in-memory streams do not fail
        } finally {
            writer.dispose();
        }
    }

    /** The text chunks (tEXt, iTXt, zTXt) of a PNG, keyword to text, in file order. */
    public static Map<String, String> pngText(byte[] png) throws IOException {
        Map<String, String> out = new LinkedHashMap<>();
        try (ImageInputStream in = ImageIO.createImageInputStream(new ByteArrayInputStream(png))) {
            ImageReader reader = ImageIO.getImageReadersByFormatName("png").next();
            try {
                reader.setInput(in);
                Node root = reader.getImageMetadata(0).getAsTree(PNG_FORMAT);
                for (Node chunk = root.getFirstChild(); chunk != null; chunk = chunk.getNextSibling()) {
                    for (Node e = chunk.getFirstChild(); e != null; e = e.getNextSibling()) {
                        NamedNodeMap a = e.getAttributes();
                        String value = switch (e.getNodeName()) {
                            case "tEXtEntry", "zTXtEntry" -> a.getNamedItem(e.getNodeName().equals("tEXtEntry")
                                    ? "value" : "text").getNodeValue();
                            case "iTXtEntry" -> a.getNamedItem("text").getNodeValue();
                            default -> null;
                        };
                        if (value != null) {
                            out.put(a.getNamedItem("keyword").getNodeValue(), value);
                        }
                    }
                }
            } finally {
                reader.dispose();
            }
        }
        return out;
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
