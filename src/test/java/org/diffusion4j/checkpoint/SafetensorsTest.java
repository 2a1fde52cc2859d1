package org.diffusion4j.checkpoint;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.diffusion4j.checkpoint.SafetensorsException.Reason;
import org.diffusion4j.tensor.Rng;
import org.diffusion4j.tensor.Shapes;
import org.diffusion4j.tensor.Tensors;
import org.diffusion4j.tensor.Torch;
import org.diffusion4j.testing.Fuzzing;
import org.diffusion4j.testing.Shared;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsTest {
    @TempDir
    Path dir;

    /** A file with a raw header and data section, for malformed cases. */
    private Path file(String header, int dataBytes) throws IOException {
        return file(header.getBytes(StandardCharsets.UTF_8), header.getBytes(StandardCharsets.UTF_8).length, dataBytes);
    }

    private Path file(byte[] header, long declaredLength, int dataBytes) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(8 + header.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(declaredLength).put(header);
        Path f = Files.createTempFile(dir, "bad", ".safetensors");
        Files.write(f, b.array());
        return f;
    }

    private void rejects(Path f, Reason reason, String fragment) {
        assertThatThrownBy(() -> Safetensors.read(f))
                .isInstanceOfSatisfying(SafetensorsException.class, e -> assertThat(e.reason()).isEqualTo(reason))
                .hasMessageContaining(f.toString())
                .hasMessageContaining(fragment);
    }

    @Test
    void roundTripsEveryDtypeWithMetadata() throws IOException {
        Torch.init();
        try (PointerScope scope = new PointerScope()) {
            Map<String, Tensor> in = new LinkedHashMap<>();
            Tensor base = Rng.of(1).randn(3, 4).mul(Tensors.scalar(50));
            for (DType d : DType.values()) {
                in.put("t_" + d.name(), base.to(d.scalarType()));
            }
            in.put("scalar", torch.scalar_tensor(Tensors.scalar(2.5)));
            in.put("empty", torch.zeros(0, 3));
            in.put("strided", base.t());
            Path f = dir.resolve("all.safetensors");
            Safetensors.write(f, in, Map.of("format", "pt", "note", "ünïcode"));
            Safetensors.Contents out = Safetensors.read(f);
            assertThat(out.metadata()).containsEntry("format", "pt").containsEntry("note", "ünïcode");
            assertThat(out.tensors().keySet()).containsExactlyInAnyOrderElementsOf(in.keySet());
            for (Map.Entry<String, Tensor> e : in.entrySet()) {
                Tensor got = out.tensors().get(e.getKey());
                assertThat(got.scalar_type().value).as(e.getKey()).isEqualTo(e.getValue().scalar_type().value);
                assertThat(Shapes.of(got)).as(e.getKey()).containsExactly(Shapes.of(e.getValue()));
                assertThat(torch.equal(got, e.getValue())).as(e.getKey()).isTrue();
            }
            // Data is 8-byte aligned and nothing trails it.
            long headerLen = ByteBuffer.wrap(Files.readAllBytes(f), 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
            assertThat(headerLen % 8).isZero();
            assertThat(Safetensors.readHeader(f).tensors()).hasSize(in.size());
        }
    }

    @Test
    void readsAFileWrittenByPythonSafetensors() throws IOException {
        Path f = Shared.diffusers().resolve("unet_a_uncond").resolve("unet.safetensors");
        try (PointerScope scope = new PointerScope()) {
            Safetensors.Contents c = Safetensors.read(f);
            assertThat(c.metadata()).containsEntry("format", "pt");
            assertThat(c.tensors()).containsKey("conv_in.weight");
            assertThat(Shapes.of(c.tensors().get("conv_in.weight"))).containsExactly(16, 3, 3, 3);
            long params = c.tensors().values().stream().mapToLong(Tensor::numel).sum();
            assertThat(params).isEqualTo(Shared.read(Shared.diffusers().resolve("unet_a_uncond.json"))
                    .get("num_parameters").asLong());
        }
    }

    @Test
    void rejectsHeadersThatAreTooLargeOrLongerThanTheFile() throws IOException {
        rejects(file("{}".getBytes(StandardCharsets.UTF_8), 100_000_001L, 0), Reason.HEADER_TOO_LARGE, "100000001");
        rejects(file("{}".getBytes(StandardCharsets.UTF_8), -1L, 0), Reason.HEADER_TOO_LARGE, "18446744073709551615");
        rejects(file("{}".getBytes(StandardCharsets.UTF_8), 50, 0), Reason.TRUNCATED, "larger than");
        Path tiny = dir.resolve("tiny.safetensors");
        Files.write(tiny, new byte[] {1, 2, 3});
        rejects(tiny, Reason.TRUNCATED, "shorter than");
    }

    @Test
    void rejectsBadEncodingJsonAndDuplicates() throws IOException {
        byte[] latin1 = "{\"a\u00e9\":{}}".getBytes(StandardCharsets.ISO_8859_1);
        rejects(file(latin1, latin1.length, 0), Reason.HEADER_NOT_UTF8, "UTF-8");
        rejects(file("{\"a\": ", 0), Reason.HEADER_NOT_JSON, "not valid JSON");
        rejects(file("[1, 2]", 0), Reason.HEADER_NOT_JSON, "does not start with '{'");
        rejects(file("{} {}", 0), Reason.HEADER_NOT_JSON, "not valid JSON");
        rejects(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                + "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8), Reason.DUPLICATE_KEY, "'a'");
        rejects(file("{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4),
                Reason.DUPLICATE_KEY, "dtype");
    }

    @Test
    void rejectsNonStringMetadata() throws IOException {
        rejects(file("{\"__metadata__\":{\"epoch\":3}}", 0), Reason.BAD_METADATA, "'epoch' is not a string");
        rejects(file("{\"__metadata__\":[\"x\"]}", 0), Reason.BAD_METADATA, "must be an object");
    }

    @Test
    void rejectsBadEntries() throws IOException {
        rejects(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4), Reason.BAD_ENTRY, "data_offsets");
        rejects(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4), Reason.BAD_ENTRY, "shape[0]");
        rejects(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", 4), Reason.BAD_ENTRY, "shape[0]");
        rejects(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"x\":1}}", 4), Reason.BAD_ENTRY,
                "unknown field 'x'");
        rejects(file("{\"a\":{\"dtype\":\"C64\",\"shape\":[1],\"data_offsets\":[0,8]}}", 8), Reason.UNKNOWN_DTYPE, "C64");
        rejects(file("{\"a\":{\"dtype\":5,\"shape\":[1],\"data_offsets\":[0,4]}}", 4), Reason.BAD_ENTRY, "string dtype");
    }

    @Test
    void rejectsSizeMismatchAndOverflow() throws IOException {
        rejects(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4), Reason.SIZE_MISMATCH,
                "needs 8 bytes");
        rejects(file("{\"a\":{\"dtype\":\"F64\",\"shape\":[4611686018427387904, 4],\"data_offsets\":[0,8]}}", 8),
                Reason.SHAPE_OVERFLOW, "overflows");
    }

    @Test
    void rejectsOverlapsGapsAndTrailingBytes() throws IOException {
        String two = "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[%d,%d]}}";
        rejects(file(String.format(two, 2, 6), 6), Reason.BAD_OFFSETS, "overlap");
        rejects(file(String.format(two, 8, 12), 12), Reason.BAD_OFFSETS, "gap");
        rejects(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8), Reason.BAD_OFFSETS, "gap");
        rejects(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 4), Reason.BAD_OFFSETS,
                "only 4 bytes");
        rejects(file(String.format(two, 4, 8), 9), Reason.TRAILING_BYTES, "1 bytes after the last tensor");
        rejects(file("{}", 3), Reason.TRAILING_BYTES, "3 bytes");
    }

    @Test
    void aFailedWriteLeavesTheOldFileAndNoTemp() throws IOException {
        Torch.init();
        try (PointerScope scope = new PointerScope()) {
            Path f = dir.resolve("keep.safetensors");
            Safetensors.write(f, Map.of("a", torch.ones(2)), Map.of());
            byte[] before = Files.readAllBytes(f);
            // Complex tensors are not storable: the write must fail before touching the target.
            Tensor complex = torch.ones(2).to(torch.ScalarType.ComplexFloat);
            assertThatThrownBy(() -> Safetensors.write(f, Map.of("a", torch.ones(3), "z", complex), Map.of()))
                    .hasMessageContaining("cannot store");
            assertThat(Files.readAllBytes(f)).isEqualTo(before);
            try (var files = Files.list(dir)) {
                assertThat(files.map(p -> p.getFileName().toString())).containsExactly("keep.safetensors");
            }
        }
    }

    /** Jazzer target: any input either validates or fails with a {@link SafetensorsException} naming the file. */
    public static final class Fuzz {
        public static void fuzzerTestOneInput(byte[] data) {
            Path f = Fuzzing.asFile(data, ".safetensors");
            try {
                Safetensors.Header h = Safetensors.readHeader(f);
                // Whatever validates must be internally consistent.
                long end = 0;
                for (Safetensors.TensorInfo t : h.tensors()) {
                    if (t.begin() != end || t.end() - t.begin() != t.numel() * t.dtype().size()) {
                        throw new AssertionError("accepted inconsistent entry " + t);
                    }
                    end = t.end();
                }
                if (8 + h.headerLength() + end != data.length) {
                    throw new AssertionError("accepted a file whose tensors do not fill it exactly");
                }
            } catch (SafetensorsException e) {
                Fuzzing.requireNamesFile(e, f);
            } catch (IOException e) {
                throw new AssertionError("an untyped error escaped: " + e, e);
            }
        }
    }

    @Test
    void fuzzingFindsNothingButTypedFormatErrors() throws Exception {
        Torch.init();
        Path seed = dir.resolve("seed.safetensors");
        try (PointerScope scope = new PointerScope()) {
            Map<String, Tensor> t = new LinkedHashMap<>();
            t.put("w", Tensors.fromFloats(new float[] {1, 2, 3, 4, 5, 6}, 2, 3));
            t.put("step", Tensors.fromLongs(new long[] {7}, 1));
            t.put("h", torch.zeros(new long[] {2}, new TensorOptions(torch.ScalarType.Half)));
            Safetensors.write(seed, t, Map.of("format", "pt"));
        }
        Path work = Files.createDirectories(dir.resolve("fuzz"));
        Fuzzing.run(Fuzz.class, work, Map.of(
                "valid", Files.readAllBytes(seed),
                "empty", ByteBuffer.allocate(10).order(ByteOrder.LITTLE_ENDIAN).putLong(2).put((byte) '{')
                        .put((byte) '}').array()));
    }
}
