package org.diffusion4j.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.awt.Transparency;
import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ComponentColorModel;
import java.awt.image.DataBuffer;
import java.awt.image.Raster;
import java.awt.image.WritableRaster;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.zip.CRC32;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageWriter;
import javax.imageio.stream.ImageOutputStream;
import org.diffusion4j.testing.Fuzzing;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImageFolderTest {
    @TempDir
    Path dir;

    private static byte[] png(int w, int h, int rgb) throws IOException {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                img.setRGB(x, y, x < w / 2 ? rgb : 0xFFFFFF);
            }
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(img, "png", out);
        return out.toByteArray();
    }

    @Test
    void greyInColourIsTrueOnlyWhenEveryPixelHasEqualComponents() throws IOException {
        Path grey = dir.resolve("grey.png");
        Files.write(grey, png(6, 4, 0x808080));
        assertThat(ImageFolder.greyInColour(grey)).isTrue();
        Path red = dir.resolve("red.png");
        Files.write(red, png(6, 4, 0x808081));
        assertThat(ImageFolder.greyInColour(red)).isFalse();
    }

    @Test
    void resizesCropsAndConvertsColour() throws IOException {
        Path d = Files.createDirectory(dir.resolve("ok"));
        Files.write(d.resolve("a.png"), png(40, 20, 0xFF0000));
        Files.write(d.resolve("b.PNG"), png(20, 20, 0x0000FF));
        Files.write(d.resolve(".DS_Store"), new byte[] {1, 2});
        LabeledImages rgb = ImageFolder.load(d, 8, ImageFolder.Color.RGB);
        assertThat(rgb.count()).isEqualTo(2);
        assertThat(rgb.channels()).isEqualTo(3);
        // a.png: 40x20 -> 16x8 -> centre 8x8 crop, columns 0-3 red, 4-7 white.
        byte[] p = rgb.pixels();
        assertThat(p[0] & 0xff).isEqualTo(255);
        assertThat(p[64] & 0xff).isZero();
        assertThat(p[7] & 0xff).isEqualTo(255);
        assertThat(p[64 + 7] & 0xff).isEqualTo(255);
        LabeledImages grey = ImageFolder.load(d, 8, ImageFolder.Color.GREY);
        assertThat(grey.channels()).isEqualTo(1);
        assertThat(grey.pixels()[0] & 0xff).isEqualTo(76);
    }

    @Test
    void readsGreyPngValuesVerbatim() throws IOException {
        Path d = Files.createDirectory(dir.resolve("grey"));
        byte[] ramp = new byte[8 * 8];
        for (int i = 0; i < ramp.length; i++) {
            ramp[i] = (byte) (i * 4);
        }
        BufferedImage img = new BufferedImage(8, 8, BufferedImage.TYPE_BYTE_GRAY);
        img.getRaster().setDataElements(0, 0, 8, 8, ramp);
        ImageIO.write(img, "png", d.resolve("ramp.png").toFile());
        // Same size, so no resampling: every stored grey level must come back unchanged, in both colour modes.
        // (BufferedImage.getRGB on a grey image would brighten 128 to 188; drawing it into RGB does not.)
        assertThat(ImageFolder.load(d, 8, ImageFolder.Color.GREY).pixels()).containsExactly(ramp);
        byte[] rgb = ImageFolder.load(d, 8, ImageFolder.Color.RGB).pixels();
        assertThat(Arrays.copyOfRange(rgb, 64, 128)).containsExactly(ramp);
    }

    @Test
    void rejectsEmptyAndMixedFolders() throws IOException {
        Path empty = Files.createDirectory(dir.resolve("empty"));
        assertThatThrownBy(() -> ImageFolder.load(empty, 8, ImageFolder.Color.RGB)).hasMessageContaining("empty folder");
        Path mixed = Files.createDirectory(dir.resolve("mixed"));
        Files.write(mixed.resolve("a.png"), png(8, 8, 0));
        Files.writeString(mixed.resolve("notes.txt"), "hi");
        assertThatThrownBy(() -> ImageFolder.load(mixed, 8, ImageFolder.Color.RGB))
                .hasMessageContaining("notes.txt: not a PNG or JPEG");
    }

    @Test
    void rejectsTruncatedFakeAndBombImages() throws IOException {
        Path d = Files.createDirectory(dir.resolve("bad"));
        byte[] good = png(16, 16, 0x00FF00);
        Path truncated = d.resolve("t.png");
        Files.write(truncated, Arrays.copyOf(good, good.length / 2));
        assertThatThrownBy(() -> ImageFolder.decode(truncated)).hasMessageStartingWith(truncated.toString());
        Path fake = d.resolve("f.png");
        Files.writeString(fake, "not an image at all");
        assertThatThrownBy(() -> ImageFolder.decode(fake)).hasMessageContaining("no decoder recognises");
        // A PNG whose header declares 100000 x 100000 pixels: refused from the header, nothing is decoded.
        Path bomb = d.resolve("bomb.png");
        Files.write(bomb, withDeclaredSize(good, 100_000, 100_000));
        assertThatThrownBy(() -> ImageFolder.decode(bomb)).hasMessageContaining("100000x100000")
                .hasMessageContaining("refused before decoding");
    }

    /** Within the pixel limit, 16-bit RGBA still decodes to 8 bytes a pixel: the byte limit refuses it first. */
    @Test
    void wideSamplesAreBoundedByDecodedBytesNotJustPixels() throws IOException {
        ComponentColorModel cm = new ComponentColorModel(
                ColorSpace.getInstance(ColorSpace.CS_sRGB), true, false,
                Transparency.TRANSLUCENT, DataBuffer.TYPE_USHORT);
        BufferedImage deep = new BufferedImage(cm, cm.createCompatibleWritableRaster(16, 16), false, null);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        ImageIO.write(deep, "png", bytes);
        Path d = Files.createDirectory(dir.resolve("deep"));
        Path small = d.resolve("small.png");
        Files.write(small, bytes.toByteArray());
        assertThat(ImageFolder.decode(small).getWidth()).isEqualTo(16);
        // 25 M pixels, under the 40 M pixel limit, but 200 MB decoded.
        Path big = d.resolve("big.png");
        Files.write(big, withDeclaredSize(bytes.toByteArray(), 5000, 5000));
        assertThatThrownBy(() -> ImageFolder.decode(big)).hasMessage(big + ": a 5000x5000 image of 8-byte pixels "
                + "decodes to 191 MiB, more than the 128 MiB allowed (refused before decoding)");
    }

    @Test
    void rejectsUnsupportedColourModels() throws IOException {
        // A four-channel JPEG decodes as CMYK, which would only be approximated as RGB.
        WritableRaster r = Raster.createInterleavedRaster(
                DataBuffer.TYPE_BYTE, 8, 8, 4, null);
        Path cmyk = dir.resolve("cmyk.jpg");
        ImageWriter w = ImageIO.getImageWritersByFormatName("jpeg").next();
        try (ImageOutputStream out = ImageIO.createImageOutputStream(cmyk.toFile())) {
            w.setOutput(out);
            w.write(null, new IIOImage(r, null, null), null);
        } finally {
            w.dispose();
        }
        assertThatThrownBy(() -> ImageFolder.decode(cmyk)).hasMessageStartingWith(cmyk.toString())
                .hasMessageContaining("unsupported colour model (4 components");
        // Grey and palette images are fine.
        BufferedImage palette = new BufferedImage(4, 4, BufferedImage.TYPE_BYTE_INDEXED);
        Path indexed = dir.resolve("indexed.png");
        ImageIO.write(palette, "png", indexed.toFile());
        assertThat(ImageFolder.decode(indexed).getWidth()).isEqualTo(4);
    }

    /** Rewrites a PNG's IHDR width and height (and its CRC). */
    private static byte[] withDeclaredSize(byte[] png, int w, int h) {
        byte[] out = png.clone();
        ByteBuffer b = ByteBuffer.wrap(out);
        b.putInt(16, w);
        b.putInt(20, h);
        CRC32 crc = new CRC32();
        crc.update(out, 12, 17);
        b.putInt(29, (int) crc.getValue());
        return out;
    }

    @Test
    void colourNamesParse() {
        assertThat(ImageFolder.Color.parse("gray")).isEqualTo(ImageFolder.Color.GREY);
        assertThatThrownBy(() -> ImageFolder.Color.parse("cmyk")).hasMessageContaining("grey or rgb");
    }

    /** Jazzer target: any image input either decodes within the pixel limit or fails naming the file. */
    public static final class Fuzz {
        public static void fuzzerTestOneInput(byte[] data) {
            Path f = Fuzzing.asFile(data, ".img");
            try {
                BufferedImage img = ImageFolder.decode(f);
                if ((long) img.getWidth() * img.getHeight() > ImageFolder.MAX_PIXELS) {
                    throw new AssertionError("decoded " + img.getWidth() + "x" + img.getHeight());
                }
                ImageFolder.fit(img, 8);
            } catch (IOException e) {
                Fuzzing.requireNamesFile(e, f);
            }
        }
    }

    @Test
    void fuzzingFindsNothingButErrorsNamingTheFile() throws Exception {
        BufferedImage grey = new BufferedImage(6, 5, BufferedImage.TYPE_BYTE_GRAY);
        grey.getRaster().setSample(2, 2, 0, 200);
        ByteArrayOutputStream jpeg = new ByteArrayOutputStream();
        ImageIO.write(grey, "jpg", jpeg);
        ByteArrayOutputStream greyPng = new ByteArrayOutputStream();
        ImageIO.write(grey, "png", greyPng);
        Path work = Files.createDirectories(dir.resolve("fuzz"));
        Fuzzing.run(Fuzz.class, work, Map.of("rgb.png", png(5, 4, 0x336699),
                "grey.png", greyPng.toByteArray(), "grey.jpg", jpeg.toByteArray()));
    }
}
