package org.diffusion4j.data;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.bytedeco.pytorch.Tensor;
import org.diffusion4j.tensor.Rng;
import org.diffusion4j.tensor.Tensors;

/**
 * Fixed-length 1-D signals (or any flat vectors) as rows of a file: CSV (one row per line, comma-separated numbers,
 * an optional non-numeric header line) or NumPy {@code .npy} (a C-ordered 2-D float32 or float64 array). Batches are
 * rows drawn with replacement from the step's generator. Every malformation is an error naming the file and line.
 *
 * @param rows  float32 [N, D]
 * @param count N
 * @param dim   D
 */
public record RowDataset(float[] rows, int count, int dim, String id) implements DataSource {
    /** Largest file accepted. */
    public static final long MAX_BYTES = 1L << 30;

    private static final Pattern NPY_HEADER = Pattern.compile(
            "\\{'descr': '<f([48])', 'fortran_order': False, 'shape': \\((\\d+), (\\d+)\\), \\}\\s*");

    /**
     * The row length D of {@code file} from its header (.npy) or first lines (.csv), without reading the rows: for
     * checking a run's shapes before training reads the whole file.
     */
    public static int dim(Path file) throws IOException {
        checkFile(file);
        if (isNpy(file)) {
            byte[] head;
            try (InputStream in = Files.newInputStream(file)) {
                head = in.readNBytes(1 << 16);
            }
            return (int) npyHeader(file, head, Files.size(file)).dim();
        }
        try (BufferedReader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            String line;
            while ((line = r.readLine()) != null) {
                if (!line.strip().isEmpty()) {
                    // The first non-blank line, header or row, fixes D (as csv() requires of every row).
                    return line.strip().split(",", -1).length;
                }
            }
        } catch (CharacterCodingException e) {
            throw notText(file, e);
        }
        throw new IOException(file + ": holds no rows of numbers");
    }

    private static boolean isNpy(Path file) {
        return file.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".npy");
    }

    private static void checkFile(Path file) throws IOException {
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        if (!Files.isRegularFile(file)) {
            throw new IOException(file + ": no such file");
        }
        if (Files.size(file) > MAX_BYTES) {
            throw new IOException(file + ": larger than " + MAX_BYTES + " bytes");
        }
        if (!name.endsWith(".npy") && !name.endsWith(".csv")) {
            throw new IOException(file + ": expected a .csv or .npy file of rows");
        }
    }

    private static IOException notText(Path file, CharacterCodingException e) {
        return new IOException(file + ": not a CSV file (not UTF-8 text)", e);
    }

    /** Reads {@code file} by its extension (.csv or .npy). */
    public static RowDataset read(Path file) throws IOException {
        checkFile(file);
        return isNpy(file) ? npy(file) : csv(file);
    }

    private static RowDataset csv(Path file) throws IOException {
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (CharacterCodingException e) {
            throw notText(file, e);
        }
        float[] out = null;
        int dim = -1;
        int n = 0;
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i).strip();
            if (line.isEmpty()) {
                continue;
            }
            String[] cells = line.split(",", -1);
            float[] row = new float[cells.length];
            boolean numeric = true;
            for (int j = 0; j < cells.length; j++) {
                try {
                    row[j] = Float.parseFloat(cells[j].strip());
                } catch (NumberFormatException e) {
                    numeric = false;
                    if (n > 0 || dim >= 0) {
                        throw new IOException(file + ": line " + (i + 1) + ", column " + (j + 1) + ": '" + cells[j]
                                + "' is not a number");
                    }
                    break;
                }
                if (!Float.isFinite(row[j])) {
                    throw new IOException(file + ": line " + (i + 1) + ", column " + (j + 1) + " is not finite");
                }
            }
            if (!numeric) {
                dim = cells.length;
                continue;
            }
            if (out == null) {
                dim = dim < 0 ? cells.length : dim;
                out = new float[dim * Math.max(1, lines.size())];
            }
            if (cells.length != dim) {
                throw new IOException(file + ": line " + (i + 1) + " has " + cells.length + " values, expected " + dim);
            }
            System.arraycopy(row, 0, out, n * dim, dim);
            n++;
        }
        if (n == 0) {
            throw new IOException(file + ": holds no rows of numbers");
        }
        return new RowDataset(Arrays.copyOf(out, n * dim), n, dim, "rows:" + file.toAbsolutePath().normalize());
    }

    /** A parsed .npy header: element width in bytes, shape (n, dim), and where the data starts. */
    private record NpyHeader(int width, long n, long dim, int dataStart) {}

    /** Parses the header in {@code b} (the file's first bytes) and checks it against the file's {@code size}. */
    private static NpyHeader npyHeader(Path file, byte[] b, long size) throws IOException {
        if (b.length < 10 || (b[0] & 0xff) != 0x93 || !new String(b, 1, 5, StandardCharsets.US_ASCII).equals("NUMPY")) {
            throw new IOException(file + ": not a .npy file (bad magic)");
        }
        int major = b[6];
        ByteBuffer buf = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        int headerLen;
        int start;
        if (major == 1) {
            headerLen = buf.getShort(8) & 0xffff;
            start = 10;
        } else if ((major == 2 || major == 3) && b.length >= 12) {
            headerLen = buf.getInt(8);
            start = 12;
        } else if (major == 2 || major == 3) {
            throw new IOException(file + ": truncated .npy header");
        } else {
            throw new IOException(file + ": .npy version " + major + " is not supported");
        }
        if (headerLen < 0 || start + (long) headerLen > b.length) {
            throw new IOException(file + ": truncated .npy header");
        }
        String header = new String(b, start, headerLen, StandardCharsets.US_ASCII);
        Matcher m = NPY_HEADER.matcher(header);
        if (!m.matches()) {
            throw new IOException(file + ": expected a C-ordered 2-D little-endian float32/float64 array, header is "
                    + header.strip());
        }
        long data = size - (long) start - headerLen;
        int width = Integer.parseInt(m.group(1));
        long n;
        long dim;
        long need;
        try {
            n = Long.parseLong(m.group(2));
            dim = Long.parseLong(m.group(3));
            need = Math.multiplyExact(Math.multiplyExact(n, dim), (long) width);
        } catch (NumberFormatException | ArithmeticException e) {
            throw new IOException(file + ": shape (" + m.group(2) + ", " + m.group(3) + ") is too large", e);
        }
        if (n < 1 || dim < 1 || need != data) {
            throw new IOException(file + ": shape (" + n + ", " + dim + ") of " + width + "-byte floats needs "
                    + need + " bytes of data, the file has " + data);
        }
        return new NpyHeader(width, n, dim, start + headerLen);
    }

    private static RowDataset npy(Path file) throws IOException {
        byte[] b = Files.readAllBytes(file);
        NpyHeader h = npyHeader(file, b, b.length);
        float[] out = new float[Math.toIntExact(h.n() * h.dim())];
        ByteBuffer buf = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        buf.position(h.dataStart());
        for (int i = 0; i < out.length; i++) {
            out[i] = h.width() == 4 ? buf.getFloat() : (float) buf.getDouble();
            if (!Float.isFinite(out[i])) {
                throw new IOException(file + ": value " + i + " is not finite");
            }
        }
        return new RowDataset(out, (int) h.n(), (int) h.dim(), "rows:" + file.toAbsolutePath().normalize());
    }

    /** Rows {@code idx}, float32 [idx.length, D]. */
    public Tensor rows(long[] idx) {
        float[] out = new float[idx.length * dim];
        for (int i = 0; i < idx.length; i++) {
            System.arraycopy(rows, (int) idx[i] * dim, out, i * dim, dim);
        }
        return Tensors.fromFloats(out, idx.length, dim);
    }

    /** n rows drawn with replacement. */
    public Tensor sample(int n, Rng rng) {
        Tensor idx = rng.randint(0, count, n).contiguous();
        long[] i = new long[n];
        idx.data_ptr_long().get(i);
        return rows(i);
    }

    @Override
    public Tensor batch(long step, int batchSize, Rng rng) {
        return sample(batchSize, rng);
    }

    @Override
    public long[] sampleShape() {
        return new long[] {dim};
    }
}
