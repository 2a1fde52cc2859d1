package org.diffusion4j.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import org.bytedeco.javacpp.PointerScope;
import org.diffusion4j.tensor.Rng;
import org.diffusion4j.tensor.Shapes;
import org.diffusion4j.tensor.Tensors;
import org.diffusion4j.testing.Fuzzing;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RowDatasetTest {
    @TempDir
    Path dir;

    /** A version-1 .npy file of float32 (width 4) or float64 (8) values, as numpy.save writes it. */
    static byte[] npy(String header, int width, double[] values) {
        String h = header;
        int total = 10 + h.length() + 1;
        h = h + " ".repeat((64 - total % 64) % 64) + "\n";
        ByteBuffer b = ByteBuffer.allocate(10 + h.length() + width * values.length).order(ByteOrder.LITTLE_ENDIAN);
        b.put((byte) 0x93).put("NUMPY".getBytes(StandardCharsets.US_ASCII)).put((byte) 1).put((byte) 0);
        b.putShort((short) h.length()).put(h.getBytes(StandardCharsets.US_ASCII));
        for (double v : values) {
            if (width == 4) {
                b.putFloat((float) v);
            } else {
                b.putDouble(v);
            }
        }
        return b.array();
    }

    @Test
    void readsCsvWithAnOptionalHeaderAndNpyOfBothWidths() throws IOException {
        Path csv = dir.resolve("a.csv");
        Files.writeString(csv, "t0,t1,t2\n1,2,3\n\n4, 5.5 ,-6e-1\n");
        RowDataset r = RowDataset.read(csv);
        assertThat(r.count()).isEqualTo(2);
        assertThat(r.dim()).isEqualTo(3);
        assertThat(r.rows()).containsExactly(1, 2, 3, 4, 5.5f, -0.6f);
        assertThat(r.id()).startsWith("rows:").endsWith("a.csv");
        for (int width : new int[] {4, 8}) {
            Path f = dir.resolve("a" + width + ".npy");
            Files.write(f, npy("{'descr': '<f" + width + "', 'fortran_order': False, 'shape': (2, 3), }", width,
                    new double[] {1, 2, 3, 4, 5.5, -0.6}));
            RowDataset n = RowDataset.read(f);
            assertThat(n.count()).isEqualTo(2);
            assertThat(n.rows()).containsExactly(1, 2, 3, 4, 5.5f, -0.6f);
        }
        // The header-only dimension agrees with a full read.
        assertThat(RowDataset.dim(csv)).isEqualTo(3);
        assertThat(RowDataset.dim(dir.resolve("a8.npy"))).isEqualTo(3);
        try (PointerScope scope = new PointerScope()) {
            assertThat(Shapes.of(r.batch(0, 5, Rng.of(1)))).containsExactly(5, 3);
            assertThat(Tensors.toFloats(r.batch(0, 5, Rng.of(1)))).containsExactly(Tensors.toFloats(r.batch(0, 5, Rng.of(1))));
        }
    }

    @Test
    void badFilesAreRefusedNamingTheFileAndPlace() throws IOException {
        String[][] csvCases = {
                {"1,2\n3\n", "line 2 has 1 values, expected 2"},
                {"1,2\n3,x\n", "line 2, column 2: 'x' is not a number"},
                {"1,NaN\n", "line 1, column 2 is not finite"},
                {"a,b\n", "holds no rows of numbers"},
        };
        for (String[] c : csvCases) {
            Path f = dir.resolve("bad.csv");
            Files.writeString(f, c[0]);
            assertThatThrownBy(() -> RowDataset.read(f)).hasMessageContaining(f.toString()).hasMessageContaining(c[1]);
        }
        Path f = dir.resolve("bad.npy");
        Files.write(f, npy("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", 4, new double[6]));
        assertThatThrownBy(() -> RowDataset.read(f)).hasMessageContaining("C-ordered 2-D");
        Files.write(f, npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 4, new double[5]));
        assertThatThrownBy(() -> RowDataset.read(f)).hasMessageContaining("needs 24 bytes of data, the file has 20");
        assertThatThrownBy(() -> RowDataset.dim(f)).hasMessageContaining("needs 24 bytes of data, the file has 20");
        Files.write(f, npy("{'descr': '<i8', 'fortran_order': False, 'shape': (2, 3), }", 8, new double[6]));
        assertThatThrownBy(() -> RowDataset.read(f)).hasMessageContaining("float32/float64");
        Files.write(f, new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
        assertThatThrownBy(() -> RowDataset.read(f)).hasMessageContaining("bad magic");
        Path txt = dir.resolve("rows.txt");
        Files.writeString(txt, "1,2\n");
        assertThatThrownBy(() -> RowDataset.read(txt)).hasMessageContaining("expected a .csv or .npy");
        assertThatThrownBy(() -> RowDataset.read(dir.resolve("none.csv"))).hasMessageContaining("no such file");
    }

    /** Inputs the fuzzer found escaping as raw exceptions. */
    @Test
    void truncatedNpyHeadersAndBinaryCsvAreRefusedNamingTheFile() throws IOException {
        Path npy = dir.resolve("v2.npy");
        Files.write(npy, new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 3, '(', ',', ' '});
        assertThatThrownBy(() -> RowDataset.dim(npy)).hasMessage(npy + ": truncated .npy header");
        Path csv = dir.resolve("binary.csv");
        Files.write(csv, new byte[] {'1', ',', (byte) 0xff, '\n'});
        assertThatThrownBy(() -> RowDataset.read(csv)).hasMessage(csv + ": not a CSV file (not UTF-8 text)");
        assertThatThrownBy(() -> RowDataset.dim(csv)).hasMessage(csv + ": not a CSV file (not UTF-8 text)");
        Path huge = dir.resolve("huge.npy");
        Files.write(huge, npy("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999, 2), }", 4,
                new double[] {1, 2}));
        assertThatThrownBy(() -> RowDataset.read(huge)).hasMessageContaining(huge + ": shape (99999999999999999999, 2) "
                + "is too large");
    }

    /** Fuzz target for the row reader: the first byte picks .csv or .npy; refusals must name the file. */
    public static final class Fuzz {
        public static void fuzzerTestOneInput(byte[] data) {
            if (data.length == 0) {
                return;
            }
            Path f = Fuzzing.asFile(Arrays.copyOfRange(data, 1, data.length),
                    (data[0] & 1) == 0 ? ".csv" : ".npy");
            try {
                int dim = RowDataset.dim(f);
                RowDataset rows = RowDataset.read(f);
                if (rows.dim() != dim || (long) rows.count() * rows.dim() != rows.rows().length) {
                    throw new AssertionError("dim() said " + dim + " but read() gave " + rows.count() + " x "
                            + rows.dim() + " in " + rows.rows().length + " values");
                }
            } catch (IOException e) {
                Fuzzing.requireNamesFile(e, f);
            }
        }
    }

    @Test
    void fuzzingFindsNothingButErrorsNamingTheFile() throws Exception {
        byte[] csv = "x,y\n1,2\n3.5,-4e2\n".getBytes(StandardCharsets.US_ASCII);
        byte[] npy = npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", 4, new double[] {1, 2, 3, 4});
        Path work = Files.createDirectories(dir.resolve("fuzz"));
        Fuzzing.run(Fuzz.class, work, Map.of("csv", prefix((byte) 0, csv),
                "npy", prefix((byte) 1, npy)));
    }

    private static byte[] prefix(byte first, byte[] rest) {
        byte[] out = new byte[rest.length + 1];
        out[0] = first;
        System.arraycopy(rest, 0, out, 1, rest.length);
        return out;
    }
}
