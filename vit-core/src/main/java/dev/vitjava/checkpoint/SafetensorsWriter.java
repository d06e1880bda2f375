package dev.vitjava.checkpoint;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.vitjava.tensor.Tensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Writes float32 tensors (or float64 arrays) as a safetensors file, in the given order, through a temporary file and
 * a rename.
 */
public final class SafetensorsWriter {

    private static final ObjectMapper JSON = new ObjectMapper();

    private SafetensorsWriter() {
    }

    /** One tensor to write: its dtype, shape, and how its little-endian bytes are filled. */
    private record Item(DType dtype, int[] shape, long numel, java.util.function.Consumer<ByteBuffer> fill) {
    }

    public static void write(Path path, Map<String, Tensor> tensors, Map<String, String> metadata) {
        Map<String, Item> items = new LinkedHashMap<>();
        tensors.forEach((name, t) -> items.put(name, new Item(DType.F32, t.shape(), t.size(), b -> {
            for (int i = 0; i < t.size(); i++) {
                b.putFloat(t.get(i));
            }
        })));
        writeItems(path, items, metadata);
    }

    /** float64 vectors, each of shape (length), e.g. optimizer state. */
    public static void writeDoubles(Path path, Map<String, double[]> arrays, Map<String, String> metadata) {
        Map<String, Item> items = new LinkedHashMap<>();
        arrays.forEach((name, a) -> items.put(name, new Item(DType.F64, new int[] {a.length}, a.length, b -> {
            for (double v : a) {
                b.putDouble(v);
            }
        })));
        writeItems(path, items, metadata);
    }

    private static void writeItems(Path path, Map<String, Item> items, Map<String, String> metadata) {
        ObjectNode header = JSON.createObjectNode();
        if (!metadata.isEmpty()) {
            ObjectNode meta = header.putObject("__metadata__");
            metadata.forEach(meta::put);
        }
        long offset = 0;
        for (Map.Entry<String, Item> e : items.entrySet()) {
            ObjectNode entry = header.putObject(e.getKey());
            entry.put("dtype", e.getValue().dtype().name());
            ArrayNode shape = entry.putArray("shape");
            for (int d : e.getValue().shape()) {
                shape.add(d);
            }
            long bytes = e.getValue().dtype().bytes() * e.getValue().numel();
            entry.putArray("data_offsets").add(offset).add(offset + bytes);
            offset += bytes;
        }
        byte[] json = header.toString().getBytes(StandardCharsets.UTF_8);
        int padded = (json.length + 7) / 8 * 8; // keeps the data section 8-byte aligned
        ByteBuffer prefix = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
        prefix.putLong(padded).put(json);
        while (prefix.hasRemaining()) {
            prefix.put((byte) ' ');
        }
        AtomicFiles.write(path, out -> {
            out.write(prefix.array());
            for (Item item : items.values()) {
                ByteBuffer data = ByteBuffer.allocate(Math.toIntExact(item.dtype().bytes() * item.numel()))
                        .order(ByteOrder.LITTLE_ENDIAN);
                item.fill().accept(data);
                out.write(data.array());
            }
        });
    }
}
