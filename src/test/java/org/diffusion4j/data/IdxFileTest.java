package org.diffusion4j.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Base64;
import java.util.Map;
import java.util.zip.GZIPOutputStream;
import org.diffusion4j.testing.Fuzzing;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IdxFileTest {
    @TempDir
    Path dir;

    static byte[] idx(int magic, int[] dims, int payload, int extra) {
        ByteBuffer b = ByteBuffer.allocate(4 + 4 * dims.length + payload + extra);
        b.putInt(magic);
        for (int d : dims) {
            b.putInt(d);
        }
        for (int i = 0; i < payload + extra; i++) {
            b.put((byte) i);
        }
        return b.array();
    }

    static byte[] gzip(byte[] raw) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
            gz.write(raw);
        }
        return out.toByteArray();
    }

    private Path write(String name, byte[] bytes) throws IOException {
        Path f = dir.resolve(name);
        Files.write(f, bytes);
        return f;
    }

    @Test
    void readsRawAndGzipIdentically() throws IOException {
        byte[] raw = idx(0x00000803, new int[] {2, 3, 4}, 24, 0);
        IdxFile a = IdxFile.read(write("a-idx3-ubyte", raw));
        IdxFile b = IdxFile.read(write("b-idx3-ubyte.gz", gzip(raw)));
        assertThat(a.dims()).containsExactly(2, 3, 4);
        assertThat(a.data()).hasSize(24).isEqualTo(b.data());
        assertThat(a.sha256()).isEqualTo(b.sha256()).hasSize(64);
    }

    @Test
    void rejectsBadMagicTypeTruncationAndTrailingBytes() throws IOException {
        assertThatThrownBy(() -> IdxFile.read(write("m", idx(0x01000803, new int[] {2}, 2, 0))))
                .hasMessageContaining("not an IDX file");
        assertThatThrownBy(() -> IdxFile.read(write("t", idx(0x00000D01, new int[] {2}, 8, 0))))
                .hasMessageContaining("element type 0xd");
        byte[] truncated = Arrays.copyOf(idx(0x00000801, new int[] {10}, 10, 0), 12);
        assertThatThrownBy(() -> IdxFile.read(write("x", truncated))).hasMessageContaining("truncated");
        assertThatThrownBy(() -> IdxFile.read(write("y", Arrays.copyOf(truncated, 6))))
                .hasMessageContaining("truncated before the dimension 0");
        assertThatThrownBy(() -> IdxFile.read(write("z", idx(0x00000801, new int[] {10}, 10, 3))))
                .hasMessageContaining("trailing bytes");
        assertThatThrownBy(() -> IdxFile.read(write("g.gz", Arrays.copyOf(gzip(idx(0x00000801, new int[] {4000}, 4000, 0)), 40))))
                .hasMessageContaining("g.gz");
    }

    @Test
    void boundsTheDeclaredSizeSoGzipBombsCannotExpand() throws IOException {
        // 16 MB of zeros compresses to ~16 KB; a 1 MB limit must refuse it from the header alone.
        byte[] bomb = gzip(idx(0x00000803, new int[] {256, 256, 256}, 256 * 256 * 256, 0));
        assertThat(bomb.length).isLessThan(1 << 20);
        assertThatThrownBy(() -> IdxFile.read(write("bomb.gz", bomb), 1 << 20)).hasMessageContaining("exceeds the limit");
        assertThatThrownBy(() -> IdxFile.read(write("neg", idx(0x00000801, new int[] {-5}, 0, 0))))
                .hasMessageContaining("negative");
    }

    @Test
    void aGzipHeaderCutShortIsAnErrorNamingTheFile() throws IOException {
        // Found by the fuzz test below: GZIPInputStream threw a bare EOFException from its header.
        Path f = write("cut.gz", Base64.getDecoder().decode("H4sInAMuAAAI/yYn/w=="));
        assertThatThrownBy(() -> IdxFile.read(f)).hasMessage(f + ": truncated gzip data");
        Path trailer = write("trailer.gz", Arrays.copyOf(gzip(idx(0x00000801, new int[] {3}, 3, 0)),
                gzip(idx(0x00000801, new int[] {3}, 3, 0)).length - 3));
        assertThatThrownBy(() -> IdxFile.read(trailer)).hasMessageStartingWith(trailer.toString());
    }

    /** Jazzer target: raw or gzip IDX input either reads or fails with an IOException naming the file. */
    public static final class Fuzz {
        public static void fuzzerTestOneInput(byte[] data) {
            Path f = Fuzzing.asFile(data, ".idx");
            try {
                IdxFile idx = IdxFile.read(f, 1 << 20);
                long total = 1;
                for (int d : idx.dims()) {
                    total *= d;
                }
                if (total != idx.data().length) {
                    throw new AssertionError("accepted " + idx.data().length + " bytes for dims "
                            + Arrays.toString(idx.dims()));
                }
            } catch (IOException e) {
                Fuzzing.requireNamesFile(e, f);
            }
        }
    }

    @Test
    void fuzzingFindsNothingButErrorsNamingTheFile() throws Exception {
        byte[] images = idx(0x00000803, new int[] {3, 4, 4}, 48, 0);
        byte[] labels = idx(0x00000801, new int[] {3}, 3, 0);
        Path work = Files.createDirectories(dir.resolve("fuzz"));
        Fuzzing.run(Fuzz.class, work, Map.of("images", images, "labels", labels,
                "images-gz", gzip(images), "labels-gz", gzip(labels)));
    }
}
