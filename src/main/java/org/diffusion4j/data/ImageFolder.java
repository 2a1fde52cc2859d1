package org.diffusion4j.data;

import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.SampleModel;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.stream.Stream;
import javax.imageio.IIOException;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.ImageTypeSpecifier;
import javax.imageio.event.IIOReadWarningListener;
import javax.imageio.stream.ImageInputStream;
import org.diffusion4j.tensor.Memory;

/**
 * A folder of PNG/JPEG images, each resized (shorter side to {@code size}, bilinear) and centre-cropped to
 * size x size, as grey or RGB. Strict: an empty folder, a file that is not PNG/JPEG, a declared size above the pixel
 * limit (checked from the header, before decoding: decompression bombs), a decoder warning (e.g. truncated data) or
 * an unsupported colour model is an error naming the file. Hidden files are ignored.
 */
public final class ImageFolder {
    /** Largest image accepted, in pixels. */
    public static final long MAX_PIXELS = 40_000_000L;
    /**
     * Largest decoded image accepted, in bytes, from its declared size and sample layout (a 16-bit RGBA pixel is 8
     * bytes): with images decoded one at a time, this bounds what decoding holds at once.
     */
    public static final long MAX_DECODED_BYTES = 128L << 20;

    /** Output colour. */
    public enum Color {
        GREY(1), RGB(3);

        private final int channels;

        Color(int channels) {
            this.channels = channels;
        }

        public int channels() {
            return channels;
        }

        public static Color parse(String s) {
            return switch (s.trim().toLowerCase(Locale.ROOT)) {
                case "grey", "gray", "l" -> GREY;
                case "rgb" -> RGB;
                default -> throw new IllegalArgumentException("unknown colour mode '" + s + "'; expected grey or rgb");
            };
        }
    }

    private ImageFolder() {}

    /** Loads every image of {@code dir} (sorted by name). */
    public static LabeledImages load(Path dir, int size, Color color) throws IOException {
        if (size < 1 || size > 4096) {
            throw new IllegalArgumentException("image size must be in [1, 4096], got " + size);
        }
        if (!Files.isDirectory(dir)) {
            throw new IOException(dir + ": not a directory");
        }
        List<Path> files;
        try (Stream<Path> s = Files.list(dir)) {
            files = s.filter(p -> !p.getFileName().toString().startsWith(".")).sorted().toList();
        }
        if (files.isEmpty()) {
            throw new IOException(dir + ": no images (empty folder)");
        }
        int c = color.channels();
        long total = (long) files.size() * c * size * size;
        if (total > Integer.MAX_VALUE - 8) {
            throw new IOException(dir + ": " + files.size() + " images of " + c + "x" + size + "x" + size + " are "
                    + Memory.format(total) + ", more than one array holds (2 GiB); use fewer "
                    + "or smaller images");
        }
        Memory.require(total, "loading the " + files.size() + " images of " + dir,
                "use fewer or smaller images");
        byte[] pixels = new byte[(int) total];
        for (int i = 0; i < files.size(); i++) {
            Path f = files.get(i);
            String name = f.getFileName().toString().toLowerCase(Locale.ROOT);
            if (Files.isDirectory(f) || !(name.endsWith(".png") || name.endsWith(".jpg") || name.endsWith(".jpeg"))) {
                throw new IOException(f + ": not a PNG or JPEG file (image folders must hold images only)");
            }
            BufferedImage img = fit(decode(f), size);
            int base = i * c * size * size;
            for (int y = 0; y < size; y++) {
                for (int x = 0; x < size; x++) {
                    int rgb = img.getRGB(x, y);
                    int r = (rgb >> 16) & 0xff;
                    int g = (rgb >> 8) & 0xff;
                    int b = rgb & 0xff;
                    int p = y * size + x;
                    if (color == Color.GREY) {
                        pixels[base + p] = (byte) Math.round(0.299 * r + 0.587 * g + 0.114 * b);
                    } else {
                        pixels[base + p] = (byte) r;
                        pixels[base + size * size + p] = (byte) g;
                        pixels[base + 2 * size * size + p] = (byte) b;
                    }
                }
            }
        }
        return new LabeledImages(pixels, null, files.size(), c, size, size, 1, "folder:" + dir.getFileName());
    }

    /**
     * The images of {@code dir} as stored, before any resizing or colour conversion: colour components (1 grey, 3
     * colour; alpha not counted), height and width, each read from the file's header where it says so.
     *
     * @return file name to {C, H, W}, sorted by name
     */
    public static SortedMap<String, int[]> storedShapes(Path dir) throws IOException {
        SortedMap<String, int[]> out = new TreeMap<>();
        try (Stream<Path> s = Files.list(dir)) {
            for (Path f : s.filter(p -> !p.getFileName().toString().startsWith(".")).sorted().toList()) {
                try (ImageInputStream in = ImageIO.createImageInputStream(f.toFile())) {
                    Iterator<ImageReader> readers = in == null ? null : ImageIO.getImageReaders(in);
                    if (readers == null || !readers.hasNext()) {
                        throw new IOException(f + ": not a readable PNG or JPEG");
                    }
                    ImageReader reader = readers.next();
                    try {
                        reader.setInput(in, true, true);
                        ImageTypeSpecifier type = reader.getRawImageType(0);
                        int components = type != null ? type.getColorModel().getNumColorComponents()
                                : decode(f).getColorModel().getNumColorComponents();
                        out.put(f.getFileName().toString(), new int[] {components, reader.getHeight(0),
                                reader.getWidth(0)});
                    } finally {
                        reader.dispose();
                    }
                }
            }
        }
        return out;
    }

    /**
     * Whether a colour file holds grey: every pixel has equal red, green and blue (what {@code sample} writes for a
     * 1-channel model), so reading it as grey changes no value.
     */
    public static boolean greyInColour(Path file) throws IOException {
        BufferedImage img = decode(file);
        for (int y = 0; y < img.getHeight(); y++) {
            for (int x = 0; x < img.getWidth(); x++) {
                int rgb = img.getRGB(x, y);
                int r = (rgb >> 16) & 0xff;
                if (r != ((rgb >> 8) & 0xff) || r != (rgb & 0xff)) {
                    return false;
                }
            }
        }
        return true;
    }

    /** Bytes per decoded pixel of the reader's first image: its bands times the widest band's bytes (4 if unknown). */
    private static long bytesPerPixel(ImageReader reader) throws IOException {
        ImageTypeSpecifier type = reader.getRawImageType(0);
        if (type == null) {
            return 4;
        }
        SampleModel m = type.getSampleModel();
        int bits = 0;
        for (int s : m.getSampleSize()) {
            bits = Math.max(bits, s);
        }
        return Math.max(1, (long) m.getNumBands() * ((bits + 7) / 8));
    }

    /** Decodes one image, checking its declared size first and turning decoder warnings into errors. */
    static BufferedImage decode(Path f) throws IOException {
        if (!Files.isRegularFile(f)) {
            throw new IOException(f + ": no such file");
        }
        ImageInputStream in;
        try {
            in = ImageIO.createImageInputStream(f.toFile());
        } catch (IOException e) {
            throw new IOException(f + ": cannot open: " + e.getMessage(), e);
        }
        return decode(f.toString(), in);
    }

    /** As above, for the bytes of an image file; {@code name} stands for it in messages. */
    static BufferedImage decode(String name, byte[] data) throws IOException {
        return decode(name, ImageIO.createImageInputStream(new ByteArrayInputStream(data)));
    }

    private static BufferedImage decode(String f, ImageInputStream stream) throws IOException {
        try (ImageInputStream in = stream) {
            if (in == null) {
                throw new IOException(f + ": cannot open");
            }
            Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
            if (!readers.hasNext()) {
                throw new IOException(f + ": not a readable PNG or JPEG (no decoder recognises its content)");
            }
            ImageReader reader = readers.next();
            try {
                reader.setInput(in, true, true);
                long w = reader.getWidth(0);
                long h = reader.getHeight(0);
                if (w < 1 || h < 1 || w * h > MAX_PIXELS) {
                    throw new IOException(f + ": declared size " + w + "x" + h + " is outside [1, " + MAX_PIXELS
                            + " pixels] (refused before decoding)");
                }
                long bytes = w * h * bytesPerPixel(reader);
                if (bytes > MAX_DECODED_BYTES) {
                    throw new IOException(f + ": a " + w + "x" + h + " image of " + bytesPerPixel(reader) + "-byte "
                            + "pixels decodes to " + Memory.format(bytes) + ", more than the "
                            + Memory.format(MAX_DECODED_BYTES) + " allowed (refused before "
                            + "decoding)");
                }
                String[] warning = new String[1];
                reader.addIIOReadWarningListener((IIOReadWarningListener) (src, msg) -> warning[0] = msg);
                BufferedImage img = reader.read(0);
                if (warning[0] != null) {
                    throw new IOException(f + ": decoder warning: " + warning[0]);
                }
                // Grey and RGB (indexed palettes included) convert exactly; CMYK and other spaces would only be
                // approximated, so they are refused rather than silently recoloured.
                int space = img.getColorModel().getColorSpace().getType();
                if (space != ColorSpace.TYPE_RGB && space != ColorSpace.TYPE_GRAY) {
                    throw new IOException(f + ": unsupported colour model (" + img.getColorModel().getNumComponents()
                            + " components, colour space type " + space + "; only grey and RGB images are read)");
                }
                return img;
            } catch (IIOException e) {
                throw new IOException(f + ": cannot decode: " + e.getMessage(), e);
            } finally {
                reader.dispose();
            }
        } catch (IOException e) {
            throw e.getMessage() != null && e.getMessage().startsWith(f) ? e
                    : new IOException(f + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            // Truncated or exotic files surface as runtime exceptions from some decoders.
            throw new IOException(f + ": cannot decode (corrupt or unsupported image data" + (e.getMessage() == null
                    ? "" : ": " + e.getMessage()) + ")", e);
        }
    }

    /** Resizes the shorter side to {@code size} and centre-crops. */
    static BufferedImage fit(BufferedImage src, int size) {
        double scale = (double) size / Math.min(src.getWidth(), src.getHeight());
        int w = Math.max(size, (int) Math.round(src.getWidth() * scale));
        int h = Math.max(size, (int) Math.round(src.getHeight() * scale));
        BufferedImage out = new BufferedImage(size, size, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = out.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BILINEAR);
            g.drawImage(src, -(w - size) / 2, -(h - size) / 2, w, h, null);
        } finally {
            g.dispose();
        }
        return out;
    }
}
