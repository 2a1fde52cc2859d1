package org.diffusion4j.data;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * CIFAR-10, the binary version: {@code data_batch_1.bin} .. {@code data_batch_5.bin} (50k training images) and
 * {@code test_batch.bin} (10k), each record one label byte then 3072 pixel bytes, the red, green and blue 32x32
 * planes row-major, which is already the [C, H, W] layout the models take.
 *
 * <p>Only the archive has a published checksum ({@link #ARCHIVE}), so a fetch verifies the archive, extracts it and
 * writes {@value #MANIFEST} (sha256sum format) beside the files; loading checks the files against it. A folder
 * without one (extracted by hand) is checked for its record count and labels only, with a warning.
 */
public final class Cifar10 implements ImageDataset {
    private static final Logger LOG = LoggerFactory.getLogger(Cifar10.class);

    /**
     * A distributed archive.
     *
     * @param name   its file name on the mirrors
     * @param sha256 of the archive's bytes
     */
    public record Archive(String name, String sha256) {
        public Archive {
            if (name.isBlank() || name.contains("/")) {
                throw new IllegalArgumentException("archive name must be a plain file name, got '" + name + "'");
            }
            if (!sha256.matches("[0-9a-f]{64}")) {
                throw new IllegalArgumentException("archive SHA-256 must be 64 lower-case hex digits, got '" + sha256
                        + "'");
            }
        }
    }

    /** The archive Alex Krizhevsky publishes (170052171 bytes). */
    public static final Archive ARCHIVE = new Archive("cifar-10-binary.tar.gz",
            "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd");

    /**
     * Folders serving {@link #ARCHIVE}, tried in order: the author's page, then the copy Swift for TensorFlow's
     * datasets used. There is no npm fallback: no npm package ships the images.
     */
    public static final List<URI> MIRRORS = List.of(URI.create("https://www.cs.toronto.edu/~kriz/"),
            URI.create("https://storage.googleapis.com/s4tf-hosted-binaries/datasets/CIFAR10/"));

    /** The folder inside the archive. */
    static final String PREFIX = "cifar-10-batches-bin/";
    /** Written beside the files by a verified fetch. */
    public static final String MANIFEST = "SHA256SUMS";
    public static final List<String> TRAIN_FILES = List.of("data_batch_1.bin", "data_batch_2.bin",
            "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin");
    public static final String TEST_FILE = "test_batch.bin";
    static final String META = "batches.meta.txt";
    public static final List<String> CLASSES = List.of("airplane", "automobile", "bird", "cat", "deer", "dog", "frog",
            "horse", "ship", "truck");
    static final int SIDE = 32;
    static final int RECORD = 1 + 3 * SIDE * SIDE;

    public static final Cifar10 CIFAR10 = new Cifar10(ARCHIVE, 10_000);

    private final Archive archive;
    private final int recordsPerFile;

    /** @param recordsPerFile images per batch file (10000; tests use smaller archives) */
    Cifar10(Archive archive, int recordsPerFile) {
        if (recordsPerFile < 1) {
            throw new IllegalArgumentException("recordsPerFile must be >= 1, got " + recordsPerFile);
        }
        this.archive = archive;
        this.recordsPerFile = recordsPerFile;
    }

    @Override
    public String id() {
        return "cifar10";
    }

    public Archive archive() {
        return archive;
    }

    /** The files a complete folder holds (the six batches and the class names). */
    static List<String> files() {
        List<String> all = new ArrayList<>(TRAIN_FILES);
        all.add(TEST_FILE);
        all.add(META);
        return all;
    }

    /** The folder holding the files: {@code dir} itself, or the archive's folder inside it. */
    static Path resolve(Path dir) {
        Path inner = dir.resolve(PREFIX);
        return !Files.exists(dir.resolve(TEST_FILE)) && Files.exists(inner.resolve(TEST_FILE)) ? inner : dir;
    }

    @Override
    public boolean presentIn(Path dir) {
        Path d = resolve(dir);
        for (String f : TRAIN_FILES) {
            if (!Files.exists(d.resolve(f))) {
                return false;
            }
        }
        return Files.exists(d.resolve(TEST_FILE));
    }

    @Override
    public void verify(Path dir) throws IOException {
        Path d = resolve(dir);
        List<String> batches = new ArrayList<>(TRAIN_FILES);
        batches.add(TEST_FILE);
        Path manifest = d.resolve(MANIFEST);
        Map<String, String> sums = Files.exists(manifest) ? readManifest(manifest) : null;
        for (String f : batches) {
            Path file = d.resolve(f);
            if (!Files.exists(file)) {
                throw new IOException(d + ": " + f + " is missing; run `./diffusion4j fetch cifar10`");
            }
            long size = Files.size(file);
            if (size != (long) RECORD * recordsPerFile) {
                throw new IOException(file + ": " + size + " bytes, expected " + (long) RECORD * recordsPerFile + " ("
                        + recordsPerFile + " records of " + RECORD + ")");
            }
            if (sums == null) {
                continue;
            }
            String expected = sums.get(f);
            if (expected == null) {
                throw new IOException(manifest + ": no checksum for " + f);
            }
            VerifiedFiles.checkOnce(file, expected, () -> {
                String sha = sha256(file);
                if (!sha.equals(expected)) {
                    throw new IOException(file + ": SHA-256 is " + sha + ", but " + manifest + " recorded " + expected
                            + " when it was extracted from the verified archive (damaged since)");
                }
            });
        }
        if (sums == null) {
            LOG.warn("{}: no {} from a verified archive; checked the record counts and labels only", d, MANIFEST);
        }
    }

    @Override
    public LabeledImages load(Path dir, boolean train) throws IOException {
        verify(dir);
        Path d = resolve(dir);
        List<String> names = train ? TRAIN_FILES : List.of(TEST_FILE);
        int n = names.size() * recordsPerFile;
        int size = RECORD - 1;
        byte[] pixels = new byte[n * size];
        byte[] labels = new byte[n];
        byte[] record = new byte[RECORD];
        int i = 0;
        for (String name : names) {
            Path file = d.resolve(name);
            try (InputStream in = new BufferedInputStream(Files.newInputStream(file), 1 << 20)) {
                for (int r = 0; r < recordsPerFile; r++, i++) {
                    if (in.readNBytes(record, 0, RECORD) != RECORD) {
                        throw new IOException(file + ": truncated at record " + r);
                    }
                    if ((record[0] & 0xff) >= CLASSES.size()) {
                        throw new IOException(file + ": record " + r + " has label " + (record[0] & 0xff)
                                + ", outside [0, " + CLASSES.size() + ")");
                    }
                    labels[i] = record[0];
                    System.arraycopy(record, 1, pixels, i * size, size);
                }
            }
        }
        return new LabeledImages(pixels, labels, n, 3, SIDE, SIDE, CLASSES.size(), id() + (train ? "/train" : "/test"));
    }

    /** Writes {@value #MANIFEST} over the files in {@code dir}: call only on files from the verified archive. */
    static void writeManifest(Path dir) throws IOException {
        StringBuilder b = new StringBuilder();
        for (String f : files()) {
            b.append(sha256(dir.resolve(f))).append("  ").append(f).append('\n');
        }
        Files.writeString(dir.resolve(MANIFEST), b.toString(), StandardCharsets.US_ASCII);
    }

    /** Parses sha256sum lines strictly: a malformed or repeated line is an error, not a skipped file. */
    static Map<String, String> readManifest(Path manifest) throws IOException {
        Map<String, String> out = new LinkedHashMap<>();
        List<String> lines = Files.readAllLines(manifest, StandardCharsets.US_ASCII);
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            if (!line.matches("[0-9a-f]{64}  [A-Za-z0-9_.]+")) {
                throw new IOException(manifest + ":" + (i + 1) + ": expected '<sha256>  <file>', got '" + line + "'");
            }
            if (out.put(line.substring(66), line.substring(0, 64)) != null) {
                throw new IOException(manifest + ":" + (i + 1) + ": " + line.substring(66) + " listed twice");
            }
        }
        return out;
    }

    static String sha256(Path file) throws IOException {
        MessageDigest md;
        try {
            md = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        try (InputStream in = Files.newInputStream(file)) {
            byte[] buf = new byte[1 << 16];
            for (int n; (n = in.read(buf)) > 0; ) {
                md.update(buf, 0, n);
            }
        }
        return HexFormat.of().formatHex(md.digest());
    }
}
