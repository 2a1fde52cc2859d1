package org.diffusion4j.testing;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import org.diffusion4j.checkpoint.Json;

/**
 * Writes a valid safetensors file of float32 zeros whose data section is a hole: a file that declares terabytes
 * costs nothing on disk, so tests can offer loaders weights larger than any machine's memory.
 */
public final class SparseSafetensors {
    private SparseSafetensors() {}

    public static void write(Path file, Map<String, long[]> shapes) throws IOException {
        ObjectNode header = Json.MAPPER.createObjectNode();
        long offset = 0;
        for (Map.Entry<String, long[]> e : shapes.entrySet()) {
            long n = 4;
            for (long s : e.getValue()) {
                n = Math.multiplyExact(n, s);
            }
            ObjectNode t = header.putObject(e.getKey()).put("dtype", "F32");
            for (long s : e.getValue()) {
                t.withArray("shape").add(s);
            }
            t.putArray("data_offsets").add(offset).add(offset + n);
            offset += n;
        }
        byte[] json = header.toString().getBytes(StandardCharsets.UTF_8);
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(json.length).array());
            f.write(json);
            f.setLength(8 + json.length + offset);
        }
    }
}
