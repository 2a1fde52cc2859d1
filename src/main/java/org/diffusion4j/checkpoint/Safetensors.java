package org.diffusion4j.checkpoint;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.UnaryOperator;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.pytorch.MemoryFormatOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.diffusion4j.checkpoint.SafetensorsException.Reason;

/**
 * Reads and writes the safetensors format: an 8-byte little-endian header length N, N bytes of JSON
 * {@code {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {str: str}}}, then the raw little-endian
 * tensor bytes. Validation is as strict as the reference implementation, and stricter on duplicates and padding.
 * Tensor bytes move straight between the file and tensor memory, with no intermediate Java copy.
 */
public final class Safetensors {
    /** The reference implementation's header limit. */
    public static final long MAX_HEADER_BYTES = 100_000_000L;
    private static final String METADATA_KEY = "__metadata__";
    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private Safetensors() {}

    /** One tensor's header entry; offsets are relative to the start of the data section. */
    public record TensorInfo(String name, DType dtype, long[] shape, long begin, long end) {
        public long numel() {
            long n = 1;
            for (long s : shape) {
                n *= s;
            }
            return n;
        }

        @Override
        public String toString() {
            return name + " " + dtype + " " + Arrays.toString(shape);
        }
    }

    /** A validated header: entries in file order, plus the string metadata. */
    public record Header(List<TensorInfo> tensors, Map<String, String> metadata, long headerLength) {
        /** Tensor shapes by name, each name passed through {@code rename}. */
        public Map<String, long[]> shapes(UnaryOperator<String> rename) {
            Map<String, long[]> out = new LinkedHashMap<>();
            for (TensorInfo t : tensors) {
                out.put(rename.apply(t.name()), t.shape());
            }
            return out;
        }

        /** Bytes of tensor data (bounded by the file's length, which was checked when the header was read). */
        public long dataBytes() {
            long data = 0;
            for (TensorInfo t : tensors) {
                data += t.end() - t.begin();
            }
            return data;
        }
    }

    /** A loaded file: tensors by name (file order) and metadata. */
    public record Contents(Map<String, Tensor> tensors, Map<String, String> metadata) {}

    /** Writes {@code tensors} (any order; stored sorted by name) and {@code metadata} atomically to {@code file}. */
    public static void write(Path file, Map<String, Tensor> tensors, Map<String, String> metadata) throws IOException {
        try (AtomicFiles.Staged staged = stage(file, tensors, metadata)) {
            staged.commit();
        }
    }

    /** As {@link #write}, but leaves the complete file staged beside {@code file} for the caller to commit. */
    public static AtomicFiles.Staged stage(Path file, Map<String, Tensor> tensors, Map<String, String> metadata)
            throws IOException {
        Map<String, Tensor> sorted = new TreeMap<>(tensors);
        ObjectNode header = JSON.createObjectNode();
        if (metadata != null && !metadata.isEmpty()) {
            ObjectNode meta = header.putObject(METADATA_KEY);
            new TreeMap<>(metadata).forEach(meta::put);
        }
        List<Tensor> ordered = new ArrayList<>();
        long offset = 0;
        for (Map.Entry<String, Tensor> e : sorted.entrySet()) {
            if (e.getKey().equals(METADATA_KEY) || e.getKey().isEmpty()) {
                throw new IllegalArgumentException("invalid tensor name '" + e.getKey() + "'");
            }
            // Device tensors are copied to the host here, once per save.
            Tensor t = e.getValue().detach().contiguous().cpu();
            DType dtype = DType.of(t.scalar_type());
            ObjectNode entry = header.putObject(e.getKey());
            entry.put("dtype", dtype.name());
            ArrayNode shape = entry.putArray("shape");
            for (long s : t.sizes().vec().get()) {
                shape.add(s);
            }
            long bytes = t.numel() * dtype.size();
            entry.putArray("data_offsets").add(offset).add(offset + bytes);
            offset += bytes;
            ordered.add(t);
        }
        byte[] json = JSON.writeValueAsBytes(header);
        // Pad with spaces to a multiple of 8 so tensor data is aligned, as the reference writer does.
        int padded = (json.length + 7) / 8 * 8;
        byte[] headerBytes = Arrays.copyOf(json, padded);
        Arrays.fill(headerBytes, json.length, padded, (byte) ' ');
        return AtomicFiles.stage(file, ch -> {
            ByteBuffer prefix = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded).flip();
            writeFully(ch, prefix);
            writeFully(ch, ByteBuffer.wrap(headerBytes));
            for (Tensor t : ordered) {
                long n = t.nbytes();
                if (n > 0) {
                    writeFully(ch, new BytePointer(t.data_ptr()).capacity(n).asByteBuffer());
                }
            }
        });
    }

    /**
     * Refuses anything but a regular file before it is opened: a directory fails with a reason but no path, and a
     * FIFO would block the reader forever.
     */
    static void requireRegularFile(Path file) throws IOException {
        if (Files.isRegularFile(file)) {
            return;
        }
        if (!Files.exists(file)) {
            throw new NoSuchFileException(file.toString(), null, "no such file");
        }
        throw new FileSystemException(file.toString(), null, Files.isDirectory(file)
                ? "is a directory, not a safetensors file" : "not a regular file (a pipe, socket or device)");
    }

    /** Reads and validates only the header (cheap: for inspection). */
    public static Header readHeader(Path file) throws IOException {
        requireRegularFile(file);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            return readHeader(file, ch);
        }
    }

    /** Reads, validates and loads every tensor. */
    public static Contents read(Path file) throws IOException {
        requireRegularFile(file);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            Header h = readHeader(file, ch);
            long dataStart = 8 + h.headerLength();
            Map<String, Tensor> out = new LinkedHashMap<>();
            for (TensorInfo info : h.tensors()) {
                Tensor t = torch.empty(info.shape(), new TensorOptions(info.dtype().scalarType()), new MemoryFormatOptional());
                long n = info.end() - info.begin();
                if (n > 0) {
                    ByteBuffer dst = new BytePointer(t.data_ptr()).capacity(n).asByteBuffer();
                    long pos = dataStart + info.begin();
                    while (dst.hasRemaining()) {
                        int r = ch.read(dst, pos);
                        if (r < 0) {
                            throw new SafetensorsException(file, Reason.TRUNCATED, "file ended inside tensor '"
                                    + info.name() + "'");
                        }
                        pos += r;
                    }
                }
                out.put(info.name(), t);
            }
            return new Contents(Collections.unmodifiableMap(out), h.metadata());
        }
    }

    private static Header readHeader(Path file, FileChannel ch) throws IOException {
        long size = ch.size();
        if (size < 8) {
            throw new SafetensorsException(file, Reason.TRUNCATED, "file is " + size + " bytes, shorter than the "
                    + "8-byte header length");
        }
        ByteBuffer prefix = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        readFully(ch, prefix, 0);
        long n = prefix.flip().getLong();
        if (n < 0 || n > MAX_HEADER_BYTES) {
            throw new SafetensorsException(file, Reason.HEADER_TOO_LARGE, "declared header length "
                    + Long.toUnsignedString(n) + " exceeds the limit of " + MAX_HEADER_BYTES + " bytes");
        }
        if (n > size - 8) {
            throw new SafetensorsException(file, Reason.TRUNCATED, "declared header length " + n
                    + " is larger than the " + (size - 8) + " bytes after the length prefix");
        }
        ByteBuffer headerBuf = ByteBuffer.allocate((int) n);
        readFully(ch, headerBuf, 8);
        return parseHeader(file, headerBuf.array(), size - 8 - n);
    }

    /**
     * Validates header bytes against a data section of {@code dataLength} bytes. Public for fuzzing and tests.
     *
     * @throws SafetensorsException for every way the header can be wrong
     */
    public static Header parseHeader(Path file, byte[] headerBytes, long dataLength) throws SafetensorsException {
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(headerBytes)).toString();
        } catch (CharacterCodingException e) {
            throw new SafetensorsException(file, Reason.HEADER_NOT_UTF8, "header is not valid UTF-8");
        }
        if (!text.startsWith("{")) {
            throw new SafetensorsException(file, Reason.HEADER_NOT_JSON, "header does not start with '{'");
        }
        JsonNode root;
        try {
            root = JSON.readTree(text);
        } catch (JsonProcessingException e) {
            String msg = e.getOriginalMessage();
            if (msg != null && msg.startsWith("Duplicate field")) {
                throw new SafetensorsException(file, Reason.DUPLICATE_KEY, msg);
            }
            throw new SafetensorsException(file, Reason.HEADER_NOT_JSON, "header is not valid JSON: " + msg);
        }
        if (root == null || !root.isObject()) {
            throw new SafetensorsException(file, Reason.HEADER_NOT_JSON, "header is not a JSON object");
        }
        Map<String, String> metadata = new LinkedHashMap<>();
        List<TensorInfo> tensors = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (e.getKey().equals(METADATA_KEY)) {
                parseMetadata(file, e.getValue(), metadata);
            } else {
                tensors.add(parseEntry(file, e.getKey(), e.getValue()));
            }
        }
        checkOffsets(file, tensors, dataLength);
        return new Header(List.copyOf(tensors), Collections.unmodifiableMap(metadata), headerBytes.length);
    }

    private static void parseMetadata(Path file, JsonNode node, Map<String, String> out) throws SafetensorsException {
        if (!node.isObject()) {
            throw new SafetensorsException(file, Reason.BAD_METADATA, "__metadata__ must be an object");
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!e.getValue().isTextual()) {
                throw new SafetensorsException(file, Reason.BAD_METADATA, "__metadata__ value for '" + e.getKey()
                        + "' is not a string");
            }
            out.put(e.getKey(), e.getValue().textValue());
        }
    }

    private static TensorInfo parseEntry(Path file, String name, JsonNode node) throws SafetensorsException {
        if (!node.isObject()) {
            throw new SafetensorsException(file, Reason.BAD_ENTRY, "entry '" + name + "' is not an object");
        }
        for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!f.equals("dtype") && !f.equals("shape") && !f.equals("data_offsets")) {
                throw new SafetensorsException(file, Reason.BAD_ENTRY, "entry '" + name + "' has unknown field '"
                        + f + "'");
            }
        }
        JsonNode dtypeNode = node.get("dtype");
        if (dtypeNode == null || !dtypeNode.isTextual()) {
            throw new SafetensorsException(file, Reason.BAD_ENTRY, "entry '" + name + "' needs a string dtype");
        }
        DType dtype = DType.byName(dtypeNode.textValue());
        if (dtype == null) {
            throw new SafetensorsException(file, Reason.UNKNOWN_DTYPE, "entry '" + name + "' has unsupported dtype '"
                    + dtypeNode.textValue() + "'");
        }
        long[] shape = longArray(file, name, "shape", node.get("shape"), -1);
        long[] offsets = longArray(file, name, "data_offsets", node.get("data_offsets"), 2);
        long bytes = dtype.size();
        try {
            for (long s : shape) {
                bytes = Math.multiplyExact(bytes, s);
            }
        } catch (ArithmeticException e) {
            throw new SafetensorsException(file, Reason.SHAPE_OVERFLOW, "entry '" + name + "': shape "
                    + Arrays.toString(shape) + " x " + dtype + " overflows");
        }
        if (offsets[1] < offsets[0]) {
            throw new SafetensorsException(file, Reason.BAD_OFFSETS, "entry '" + name + "': data_offsets "
                    + Arrays.toString(offsets) + " end before they begin");
        }
        if (offsets[1] - offsets[0] != bytes) {
            throw new SafetensorsException(file, Reason.SIZE_MISMATCH, "entry '" + name + "': shape "
                    + Arrays.toString(shape) + " of " + dtype + " needs " + bytes + " bytes but data_offsets "
                    + Arrays.toString(offsets) + " span " + (offsets[1] - offsets[0]));
        }
        return new TensorInfo(name, dtype, shape, offsets[0], offsets[1]);
    }

    private static long[] longArray(Path file, String name, String field, JsonNode node, int length)
            throws SafetensorsException {
        if (node == null || !node.isArray() || (length >= 0 && node.size() != length)) {
            throw new SafetensorsException(file, Reason.BAD_ENTRY, "entry '" + name + "' needs " + field + " as "
                    + (length >= 0 ? "an array of " + length + " integers" : "an array of integers"));
        }
        long[] out = new long[node.size()];
        for (int i = 0; i < out.length; i++) {
            JsonNode v = node.get(i);
            if (!v.isIntegralNumber() || !v.canConvertToLong() || v.longValue() < 0) {
                throw new SafetensorsException(file, Reason.BAD_ENTRY, "entry '" + name + "': " + field + "[" + i
                        + "] = " + v + " is not a non-negative 64-bit integer");
            }
            out[i] = v.longValue();
        }
        return out;
    }

    private static void checkOffsets(Path file, List<TensorInfo> tensors, long dataLength) throws SafetensorsException {
        List<TensorInfo> byOffset = new ArrayList<>(tensors);
        byOffset.sort(Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end));
        long expected = 0;
        for (TensorInfo t : byOffset) {
            if (t.begin() != expected) {
                throw new SafetensorsException(file, Reason.BAD_OFFSETS, "tensor '" + t.name() + "' starts at "
                        + t.begin() + " but the previous one ends at " + expected + " ("
                        + (t.begin() < expected ? "overlap" : "gap") + ")");
            }
            expected = t.end();
            if (expected > dataLength) {
                throw new SafetensorsException(file, Reason.BAD_OFFSETS, "tensor '" + t.name() + "' ends at "
                        + expected + " but the data section has only " + dataLength + " bytes");
            }
        }
        if (expected != dataLength) {
            throw new SafetensorsException(file, Reason.TRAILING_BYTES, (dataLength - expected)
                    + " bytes after the last tensor");
        }
    }

    private static void writeFully(FileChannel ch, ByteBuffer buf) throws IOException {
        while (buf.hasRemaining()) {
            ch.write(buf);
        }
    }

    private static void readFully(FileChannel ch, ByteBuffer buf, long pos) throws IOException {
        while (buf.hasRemaining()) {
            int r = ch.read(buf, pos);
            if (r < 0) {
                throw new IOException("unexpected end of file");
            }
            pos += r;
        }
    }
}
