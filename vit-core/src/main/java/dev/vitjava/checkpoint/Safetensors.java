package dev.vitjava.checkpoint;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vitjava.VitException;
import dev.vitjava.tensor.Tensor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads a safetensors file: an 8-byte little-endian header length, a JSON header, then raw little-endian data.
 * The header is validated completely when the file is opened; tensor data is memory-mapped, one mapping per
 * tensor, so a checkpoint never needs to fit in the Java heap. Float32 tensors are zero-copy views of the
 * mapping; F16, BF16 and F64 tensors are converted to float32 on access.
 */
public final class Safetensors implements TensorSource {

    /** Refuse headers beyond this size: real ones are a few hundred KiB; a bigger one is a corrupt length. */
    private static final long MAX_HEADER_BYTES = 100L << 20;
    private static final ObjectMapper JSON = new ObjectMapper();

    /** One tensor's header entry: the tensor, and its bytes relative to the start of the data section. */
    public record Entry(Info info, long begin, long end) {
        public String name() {
            return info.name();
        }

        public DType dtype() {
            return info.dtype();
        }

        public int[] shape() {
            return info.shape();
        }

        public String shapeString() {
            return info.shapeString();
        }
    }

    private final Path path;
    private final FileChannel channel;
    private final long dataStart;
    private final Map<String, Entry> entries;
    private final Map<String, Info> infos;
    private final Map<String, String> metadata;

    private Safetensors(Path path, FileChannel channel, long dataStart, Map<String, Entry> entries,
            Map<String, String> metadata) {
        this.path = path;
        this.channel = channel;
        this.dataStart = dataStart;
        this.entries = entries;
        Map<String, Info> infos = new LinkedHashMap<>();
        entries.forEach((name, e) -> infos.put(name, e.info));
        this.infos = Collections.unmodifiableMap(infos);
        this.metadata = metadata;
    }

    public static Safetensors open(Path path) {
        FileChannel channel = Checkpoints.openChannel(path);
        try {
            return parse(path, channel);
        } catch (RuntimeException e) {
            Checkpoints.closeQuietly(channel);
            throw e;
        }
    }

    private static Safetensors parse(Path path, FileChannel channel) {
        try {
            long fileSize = channel.size();
            if (fileSize < 8) {
                throw error(path, "truncated: " + fileSize + " bytes, too short for the 8-byte header length");
            }
            ByteBuffer lengthBytes = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(channel, lengthBytes, 0);
            long headerLength = lengthBytes.getLong(0);
            if (headerLength < 2 || headerLength > fileSize - 8) {
                throw error(path, "header length " + Long.toUnsignedString(headerLength)
                        + " does not fit in the file (" + fileSize + " bytes): truncated or not a safetensors file");
            }
            if (headerLength > MAX_HEADER_BYTES) {
                throw error(path, "header length " + headerLength + " exceeds the " + MAX_HEADER_BYTES + "-byte limit");
            }
            ByteBuffer headerBytes = ByteBuffer.allocate((int) headerLength);
            readFully(channel, headerBytes, 8);
            JsonNode header;
            try {
                header = JSON.readTree(new String(headerBytes.array(), StandardCharsets.UTF_8));
            } catch (JsonProcessingException e) {
                throw error(path, "header is not valid JSON (" + e.getOriginalMessage() + ")");
            }
            if (header == null || !header.isObject()) {
                throw error(path, "header is not a JSON object");
            }
            long dataStart = 8 + headerLength;
            long dataSize = fileSize - dataStart;
            Map<String, Entry> entries = new LinkedHashMap<>();
            Map<String, String> metadata = new LinkedHashMap<>();
            for (Map.Entry<String, JsonNode> field : header.properties()) {
                if (field.getKey().equals("__metadata__")) {
                    readMetadata(path, field.getValue(), metadata);
                } else {
                    entries.put(field.getKey(), readEntry(path, field.getKey(), field.getValue(), dataSize));
                }
            }
            checkOverlaps(path, entries.values());
            return new Safetensors(path, channel, dataStart, Collections.unmodifiableMap(entries),
                    Collections.unmodifiableMap(metadata));
        } catch (IOException e) {
            throw error(path, "read failed: " + e.getMessage());
        }
    }

    private static void readMetadata(Path path, JsonNode node, Map<String, String> metadata) {
        if (!node.isObject()) {
            throw error(path, "__metadata__ is not a JSON object");
        }
        node.properties().forEach(f -> {
            if (!f.getValue().isTextual()) {
                throw error(path, "__metadata__ value of '" + Checkpoints.shown(f.getKey()) + "' is not a string");
            }
            metadata.put(f.getKey(), f.getValue().asText());
        });
    }

    private static Entry readEntry(Path path, String name, JsonNode node, long dataSize) {
        String where = "tensor '" + Checkpoints.shown(name) + "'";
        if (!node.isObject()) {
            throw error(path, where + ": header entry is not a JSON object");
        }
        JsonNode dtypeNode = node.get("dtype");
        DType dtype = dtypeNode != null && dtypeNode.isTextual() ? DType.parse(dtypeNode.asText()) : null;
        if (dtype == null) {
            throw error(path, where + ": unknown dtype " + dtypeNode);
        }
        JsonNode shapeNode = node.get("shape");
        if (shapeNode == null || !shapeNode.isArray()) {
            throw error(path, where + ": missing shape array");
        }
        int[] shape = new int[shapeNode.size()];
        for (int i = 0; i < shape.length; i++) {
            JsonNode d = shapeNode.get(i);
            if (!d.canConvertToInt() || !d.isIntegralNumber() || d.asInt() < 0) {
                throw error(path, where + ": bad shape " + shapeNode);
            }
            shape[i] = d.asInt();
        }
        JsonNode offsets = node.get("data_offsets");
        if (offsets == null || !offsets.isArray() || offsets.size() != 2
                || !offsets.get(0).isIntegralNumber() || !offsets.get(1).isIntegralNumber()) {
            throw error(path, where + ": data_offsets must be [begin, end]");
        }
        long begin = offsets.get(0).asLong();
        long end = offsets.get(1).asLong();
        if (begin < 0 || end < begin || end > dataSize) {
            throw error(path, where + ": data_offsets [" + begin + ", " + end + "] out of range (data section has "
                    + dataSize + " bytes; truncated file?)");
        }
        long expectedBytes;
        try {
            long numel = 1;
            for (int d : shape) {
                numel = Math.multiplyExact(numel, d);
            }
            expectedBytes = Math.multiplyExact(numel, dtype.bytes());
        } catch (ArithmeticException e) {
            throw error(path, where + ": shape " + Arrays.toString(shape) + " has more elements than fit in 64 bits");
        }
        if (expectedBytes != end - begin) {
            throw error(path, where + ": " + dtype + " shape " + Arrays.toString(shape) + " needs "
                    + expectedBytes + " bytes but data_offsets span " + (end - begin));
        }
        // one mapping per tensor, and a mapped buffer is indexed by int
        if (expectedBytes > Integer.MAX_VALUE - 8) {
            throw error(path, where + ": " + expectedBytes + " bytes; tensors of 2 GiB and more are not supported");
        }
        return new Entry(new Info(name, dtype, shape), begin, end);
    }

    private static void checkOverlaps(Path path, java.util.Collection<Entry> entries) {
        List<Entry> sorted = new ArrayList<>(entries);
        sorted.removeIf(e -> e.begin == e.end);
        sorted.sort(Comparator.comparingLong(Entry::begin));
        for (int i = 1; i < sorted.size(); i++) {
            Entry prev = sorted.get(i - 1);
            Entry cur = sorted.get(i);
            if (cur.begin < prev.end) {
                throw error(path, "tensors '" + Checkpoints.shown(prev.name()) + "' and '" + Checkpoints.shown(cur.name()) + "' overlap in the data section");
            }
        }
    }

    private static void readFully(FileChannel channel, ByteBuffer buffer, long position) throws IOException {
        while (buffer.hasRemaining()) {
            int n = channel.read(buffer, position + buffer.position());
            if (n < 0) {
                throw new IOException("unexpected end of file");
            }
        }
    }

    static VitException error(Path path, String message) {
        return new VitException(path + ": " + message);
    }

    @Override
    public Path path() {
        return path;
    }

    @Override
    public String format() {
        return "safetensors";
    }

    @Override
    public Map<String, Info> tensors() {
        return infos;
    }

    /** Tensor entries in header order. */
    public Map<String, Entry> entries() {
        return entries;
    }

    public Map<String, String> metadata() {
        return metadata;
    }

    @Override
    public boolean contains(String name) {
        return entries.containsKey(name);
    }

    public Entry entry(String name) {
        Entry e = entries.get(name);
        if (e == null) {
            throw error(path, "missing tensor '" + Checkpoints.shown(name) + "'");
        }
        return e;
    }

    /** The raw bytes of a tensor, memory-mapped, little-endian. */
    public ByteBuffer bytes(String name) {
        Entry e = entry(name);
        try {
            return channel.map(FileChannel.MapMode.READ_ONLY, dataStart + e.begin, e.end - e.begin)
                    .order(ByteOrder.LITTLE_ENDIAN);
        } catch (IOException ex) {
            throw error(path, "cannot map tensor '" + Checkpoints.shown(name) + "': " + ex.getMessage());
        }
    }

    /** An F64 tensor's values, e.g. optimizer state or float64 reference numbers. */
    public double[] doubles(String name) {
        Entry e = entry(name);
        if (e.dtype() != DType.F64) {
            throw error(path, "tensor '" + Checkpoints.shown(name) + "' has dtype " + e.dtype() + ", expected F64");
        }
        ByteBuffer raw = bytes(name);
        double[] out = new double[(int) e.info.numel()];
        for (int i = 0; i < out.length; i++) {
            out[i] = raw.getDouble(8 * i);
        }
        return out;
    }

    /** A tensor as float32: a view of the mapping for F32, converted on the heap for F16, BF16 and F64. */
    @Override
    public Tensor tensor(String name) {
        Entry e = entry(name);
        return floats(path, e.info, bytes(name));
    }

    /**
     * Little-endian raw values as a float32 tensor: a view for F32, converted on the heap for F16, BF16 and F64.
     * Every format's reader ends here.
     */
    static Tensor floats(Path path, Info info, ByteBuffer raw) {
        DType dtype = info.dtype();
        if (!dtype.isFloat()) {
            throw error(path, "tensor '" + Checkpoints.shown(info.name()) + "' has dtype " + dtype
                    + ", expected a float type");
        }
        raw = raw.slice().order(ByteOrder.LITTLE_ENDIAN);
        int n = (int) info.numel();
        FloatBuffer data = switch (dtype) {
            case F32 -> raw.asFloatBuffer();
            case F16 -> {
                float[] out = new float[n];
                for (int i = 0; i < n; i++) {
                    out[i] = Float.float16ToFloat(raw.getShort(2 * i));
                }
                yield FloatBuffer.wrap(out);
            }
            case BF16 -> {
                float[] out = new float[n];
                for (int i = 0; i < n; i++) {
                    out[i] = Float.intBitsToFloat((raw.getShort(2 * i) & 0xffff) << 16);
                }
                yield FloatBuffer.wrap(out);
            }
            case F64 -> {
                float[] out = new float[n];
                for (int i = 0; i < n; i++) {
                    out[i] = (float) raw.getDouble(8 * i);
                }
                yield FloatBuffer.wrap(out);
            }
            default -> throw new AssertionError(dtype);
        };
        return new Tensor(info.shape(), data);
    }

    @Override
    public void close() {
        Checkpoints.closeQuietly(channel);
    }
}
