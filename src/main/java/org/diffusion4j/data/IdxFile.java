package org.diffusion4j.data;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipException;

/**
 * Reads IDX files (LeCun's MNIST format: big-endian magic 0x0000TTDD with type TT and DD dimensions, the dimension
 * sizes as int32, then the data), raw or gzip-compressed. Only unsigned bytes (type 0x08) are supported, which is
 * what MNIST and Fashion-MNIST use. Every deviation is an error naming the file: wrong magic, truncation, trailing
 * bytes, or a declared size above the limit (which also bounds what a gzip bomb can expand to).
 *
 * @param dims   dimension sizes, e.g. [60000, 28, 28]
 * @param data   the values, row-major
 * @param sha256 SHA-256 of the uncompressed file bytes (header included), hex
 */
public record IdxFile(int[] dims, byte[] data, String sha256) {
    /** Largest payload we accept: MNIST's training images are 47 MB. */
    public static final long MAX_BYTES = 1L << 30;

    /** Reads and validates {@code file}. */
    public static IdxFile read(Path file) throws IOException {
        return read(file, MAX_BYTES);
    }

    /** Reads and validates {@code file}, refusing payloads larger than {@code maxBytes}. */
    public static IdxFile read(Path file, long maxBytes) throws IOException {
        MessageDigest md;
        try {
            md = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        try (InputStream raw = new BufferedInputStream(Files.newInputStream(file))) {
            raw.mark(2);
            boolean gz = raw.read() == 0x1f & raw.read() == 0x8b;
            raw.reset();
            InputStream in = gz ? new GZIPInputStream(raw, 1 << 16) : raw;
            DataInputStream data = new DataInputStream(new DigestInputStream(in, md));
            int magic = readInt(data, file, "magic number");
            if ((magic >>> 16) != 0) {
                throw new IOException(file + ": not an IDX file (magic number 0x" + Integer.toHexString(magic)
                        + " should start with two zero bytes)");
            }
            int type = (magic >>> 8) & 0xff;
            int ndims = magic & 0xff;
            if (type != 0x08) {
                throw new IOException(file + ": IDX element type 0x" + Integer.toHexString(type)
                        + " is not supported (only unsigned bytes, 0x08)");
            }
            if (ndims < 1 || ndims > 4) {
                throw new IOException(file + ": IDX files here have 1 to 4 dimensions, this one declares " + ndims);
            }
            int[] dims = new int[ndims];
            long total = 1;
            for (int i = 0; i < ndims; i++) {
                dims[i] = readInt(data, file, "dimension " + i);
                if (dims[i] < 0) {
                    throw new IOException(file + ": dimension " + i + " is negative (" + dims[i] + ")");
                }
                total *= dims[i];
                if (total > maxBytes) {
                    throw new IOException(file + ": declared size " + Arrays.toString(Arrays.copyOf(dims, i + 1))
                            + " exceeds the limit of " + maxBytes + " bytes");
                }
            }
            byte[] payload = new byte[(int) total];
            try {
                data.readFully(payload);
            } catch (EOFException e) {
                throw new IOException(file + ": truncated: shape " + Arrays.toString(dims) + " needs " + total
                        + " bytes of data", e);
            }
            if (data.read() != -1) {
                throw new IOException(file + ": trailing bytes after the " + total + " bytes that shape "
                        + Arrays.toString(dims) + " declares");
            }
            return new IdxFile(dims, payload, HexFormat.of().formatHex(md.digest()));
        } catch (ZipException e) {
            throw new IOException(file + ": corrupt gzip data: " + e.getMessage(), e);
        } catch (EOFException e) {
            // GZIPInputStream's own EOFs (inside its header or trailer) name nothing.
            throw new IOException(file + ": truncated gzip data", e);
        }
    }

    private static int readInt(DataInputStream in, Path file, String what) throws IOException {
        try {
            return in.readInt();
        } catch (EOFException e) {
            throw new IOException(file + ": truncated before the " + what, e);
        }
    }
}
