package dev.vitjava.checkpoint;

import dev.vitjava.VitException;
import dev.vitjava.tensor.Tensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Google's JAX/Flax ViT weights as NumPy {@code .npz}: the google-research/vision_transformer layout
 * ({@code embedding/kernel} (p,p,C,D), {@code cls}, {@code Transformer/posembed_input/pos_embedding},
 * {@code Transformer/encoderblock_N/{LayerNorm_0, MultiHeadDotProductAttention_1, LayerNorm_2, MlpBlock_3}},
 * {@code Transformer/encoder_norm}, {@code head}), the same under {@code opt/target/}, and big_vision's
 * {@code params/} layout ({@code pos_embedding}, {@code MultiHeadDotProductAttention_0}, {@code LayerNorm_1},
 * {@code MlpBlock_0}). The tensors are offered under timm's names, transposed as timm's {@code _load_weights}
 * does (Flax kernels are (in, out); per-head attention kernels are flattened), so the loader sees a timm
 * checkpoint. Arrays that map to nothing keep their own names, and the loader refuses them as unexpected.
 * The {@code .npy} members are float32, float16, float64 or bfloat16 (stored by ml_dtypes as 2-byte void).
 */
final class NpzCheckpoint extends ArchiveSource {

    private static final Pattern DESCR = Pattern.compile("'descr'\\s*:\\s*'([^']*)'");
    private static final Pattern FORTRAN = Pattern.compile("'fortran_order'\\s*:\\s*(True|False)");
    private static final Pattern SHAPE = Pattern.compile("'shape'\\s*:\\s*\\(([^)]*)\\)");
    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};

    /** One .npy member: its element type, shape and raw little-endian data. */
    private record Array(Info info, ByteBuffer data) {
    }

    /** How a Flax array becomes (part of) a timm tensor. */
    private enum Op {
        /** the same values, reshaped */
        AS_IS,
        /** (a0..ak-1, ak..) viewed as a matrix split at {@code split} and transposed: Flax (in, out) to (out, in) */
        TRANSPOSE,
        /** conv kernel (p, p, C, D) to (D, C, p, p) */
        CONV
    }

    private record Part(String source, Op op, int split) {
    }

    /** A timm tensor made of one or more Flax arrays concatenated along dimension 0. */
    private record Mapped(Info info, List<Part> parts) {
    }

    private final Map<String, Array> arrays;
    private final Map<String, Mapped> mapped;

    private NpzCheckpoint(ZipArchive zip, Map<String, Array> arrays, Map<String, Mapped> mapped, List<String> notes) {
        super(zip, mapped.values().stream().map(Mapped::info).toList(), notes);
        this.arrays = arrays;
        this.mapped = mapped;
    }

    static NpzCheckpoint open(ZipArchive zip) {
        Path path = zip.path();
        Map<String, ZipArchive.Entry> members = new LinkedHashMap<>();
        for (ZipArchive.Entry e : zip.entries().values()) {
            if (e.name().endsWith(".npy")) {
                members.put(e.name().substring(0, e.name().length() - 4), e);
            }
        }
        String prefix = members.containsKey("opt/target/embedding/kernel") ? "opt/target/"
                : members.containsKey("params/embedding/kernel") ? "params/"
                : members.containsKey("embedding/kernel") ? "" : null;
        if (prefix == null) {
            throw new VitException(path + ": not a JAX ViT .npz: no embedding/kernel among its " + members.size()
                    + " arrays (also looked under opt/target/ and params/)");
        }
        // only the parameters are read: optimizer state beside them (opt/state/...) may hold any dtype
        Map<String, Array> arrays = new LinkedHashMap<>();
        members.forEach((key, e) -> {
            if (key.startsWith(prefix)) {
                arrays.put(key, readNpy(path, key, zip.bytes(e)));
            }
        });
        boolean bigVision = prefix.equals("params/");
        Builder b = new Builder(path, prefix, arrays);
        b.map("patch_embed.proj.weight", new Part("embedding/kernel", Op.CONV, 0));
        b.map("patch_embed.proj.bias", new Part("embedding/bias", Op.AS_IS, 0));
        b.optional("cls_token", new Part("cls", Op.AS_IS, 0));
        b.map("pos_embed", new Part(bigVision ? "pos_embedding" : "Transformer/posembed_input/pos_embedding",
                Op.AS_IS, 0));
        b.map("norm.weight", new Part("Transformer/encoder_norm/scale", Op.AS_IS, 0));
        b.map("norm.bias", new Part("Transformer/encoder_norm/bias", Op.AS_IS, 0));
        b.optional("head.weight", new Part("head/kernel", Op.TRANSPOSE, 1));
        b.optional("head.bias", new Part("head/bias", Op.AS_IS, 0));
        String mha = bigVision ? "MultiHeadDotProductAttention_0/" : "MultiHeadDotProductAttention_1/";
        String ln2 = bigVision ? "LayerNorm_1/" : "LayerNorm_2/";
        String mlp = bigVision ? "MlpBlock_0/" : "MlpBlock_3/";
        for (int i = 0; b.has("Transformer/encoderblock_" + i + "/LayerNorm_0/scale"); i++) {
            String src = "Transformer/encoderblock_" + i + "/";
            String dst = "blocks." + i + ".";
            b.map(dst + "norm1.weight", new Part(src + "LayerNorm_0/scale", Op.AS_IS, 0));
            b.map(dst + "norm1.bias", new Part(src + "LayerNorm_0/bias", Op.AS_IS, 0));
            List<Part> qkvWeight = new ArrayList<>();
            List<Part> qkvBias = new ArrayList<>();
            for (String n : List.of("query", "key", "value")) {
                qkvWeight.add(new Part(src + mha + n + "/kernel", Op.TRANSPOSE, 1));
                qkvBias.add(new Part(src + mha + n + "/bias", Op.AS_IS, 0));
            }
            b.concat(dst + "attn.qkv.weight", qkvWeight);
            if (b.has(src + mha + "query/bias")) {
                b.concat(dst + "attn.qkv.bias", qkvBias);
            }
            // out/kernel is (heads, head_dim, D): the input features are its first two dimensions
            b.map(dst + "attn.proj.weight", new Part(src + mha + "out/kernel", Op.TRANSPOSE, -1));
            b.map(dst + "attn.proj.bias", new Part(src + mha + "out/bias", Op.AS_IS, 0));
            b.map(dst + "norm2.weight", new Part(src + ln2 + "scale", Op.AS_IS, 0));
            b.map(dst + "norm2.bias", new Part(src + ln2 + "bias", Op.AS_IS, 0));
            b.map(dst + "mlp.fc1.weight", new Part(src + mlp + "Dense_0/kernel", Op.TRANSPOSE, 1));
            b.map(dst + "mlp.fc1.bias", new Part(src + mlp + "Dense_0/bias", Op.AS_IS, 0));
            b.map(dst + "mlp.fc2.weight", new Part(src + mlp + "Dense_1/kernel", Op.TRANSPOSE, 1));
            b.map(dst + "mlp.fc2.bias", new Part(src + mlp + "Dense_1/bias", Op.AS_IS, 0));
        }
        List<String> notes = new ArrayList<>();
        notes.add((bigVision ? "big_vision" : "google-research/vision_transformer") + " layout"
                + (prefix.isEmpty() ? "" : " under '" + Checkpoints.shown(prefix) + "'") + ", " + arrays.size()
                + " arrays mapped to timm names as timm's _load_weights does"
                + (members.size() > arrays.size() ? "; " + (members.size() - arrays.size())
                        + " arrays outside it ignored" : ""));
        // arrays that map to nothing keep their names: the loader reports them as unexpected
        for (String key : arrays.keySet()) {
            if (!b.used.contains(key)) {
                Array a = arrays.get(key);
                b.out.put(key, new Mapped(new Info(key, a.info.dtype(), a.info.shape()),
                        List.of(new Part(key, Op.AS_IS, 0))));
            }
        }
        return new NpzCheckpoint(zip, arrays, Collections.unmodifiableMap(b.out), List.copyOf(notes));
    }

    /** Collects the mapping and checks each source's rank as it goes. */
    private static final class Builder {
        final Path path;
        final String prefix;
        final Map<String, Array> arrays;
        final Map<String, Mapped> out = new LinkedHashMap<>();
        final Set<String> used = new LinkedHashSet<>();

        Builder(Path path, String prefix, Map<String, Array> arrays) {
            this.path = path;
            this.prefix = prefix;
            this.arrays = arrays;
        }

        boolean has(String source) {
            return arrays.containsKey(prefix + source);
        }

        void optional(String name, Part part) {
            if (has(part.source)) {
                map(name, part);
            }
        }

        void map(String name, Part part) {
            concat(name, List.of(part));
        }

        void concat(String name, List<Part> parts) {
            List<Part> resolved = new ArrayList<>();
            int[] shape = null;
            DType dtype = null;
            for (Part p : parts) {
                String key = prefix + p.source;
                Array a = arrays.get(key);
                if (a == null) {
                    throw new VitException(path + ": missing array '" + Checkpoints.shown(key) + "' (for " + name + ")");
                }
                int[] s = outShape(key, a.info.shape(), p);
                if (shape == null) {
                    shape = s;
                    dtype = a.info.dtype();
                } else if (s.length != shape.length || !Arrays.equals(Arrays.copyOfRange(s, 1, s.length),
                        Arrays.copyOfRange(shape, 1, shape.length))) {
                    throw new VitException(path + ": arrays for " + name + " have different shapes");
                } else if ((long) shape[0] + s[0] > Integer.MAX_VALUE - 8) {
                    throw new VitException(path + ": arrays for " + name + " are too large together");
                } else {
                    shape[0] += s[0];
                }
                used.add(key);
                resolved.add(new Part(key, p.op, p.split));
            }
            out.put(name, new Mapped(new Info(name, dtype, shape), resolved));
        }

        private int[] outShape(String key, int[] s, Part p) {
            return switch (p.op) {
                case AS_IS -> p.source.endsWith("/bias") && s.length > 1 ? new int[] {(int) Tensor.numel(s)} : s;
                case CONV -> {
                    if (s.length != 4) {
                        throw new VitException(path + ": '" + Checkpoints.shown(key) + "' has shape " + Arrays.toString(s)
                                + ", expected (patch, patch, in_chans, dim)");
                    }
                    yield new int[] {s[3], s[2], s[0], s[1]};
                }
                case TRANSPOSE -> {
                    int split = p.split < 0 ? s.length + p.split : p.split;
                    if (s.length < 2 || split < 1 || split >= s.length) {
                        throw new VitException(path + ": '" + Checkpoints.shown(key) + "' has shape " + Arrays.toString(s)
                                + ", expected a kernel of rank 2 or 3");
                    }
                    yield new int[] {(int) Tensor.numel(Arrays.copyOfRange(s, split, s.length)),
                        (int) Tensor.numel(Arrays.copyOfRange(s, 0, split))};
                }
            };
        }
    }

    private static Array readNpy(Path path, String key, ByteBuffer b) {
        String where = path + ": '" + key + ".npy'";
        b = b.slice().order(ByteOrder.LITTLE_ENDIAN);
        if (b.remaining() < 10 || !b.slice(0, 6).equals(ByteBuffer.wrap(MAGIC))) {
            throw new VitException(where + " is not a .npy array (bad magic)");
        }
        int major = b.get(6) & 0xff;
        long headerLength;
        int start;
        if (major == 1) {
            headerLength = b.getShort(8) & 0xffff;
            start = 10;
        } else if (major == 2 || major == 3) {
            if (b.remaining() < 12) {
                throw new VitException(where + " is truncated");
            }
            headerLength = b.getInt(8) & 0xffffffffL;
            start = 12;
        } else {
            throw new VitException(where + ": .npy version " + major + " is not supported");
        }
        if (headerLength > b.remaining() - start || headerLength > 1 << 20) {
            throw new VitException(where + ": header length " + headerLength + " does not fit the member");
        }
        byte[] h = new byte[(int) headerLength];
        b.get(start, h);
        String header = new String(h, StandardCharsets.ISO_8859_1);
        Matcher descr = DESCR.matcher(header);
        Matcher fortran = FORTRAN.matcher(header);
        Matcher shapeText = SHAPE.matcher(header);
        if (!descr.find() || !fortran.find() || !shapeText.find()) {
            throw new VitException(where + ": header lacks descr, fortran_order or shape");
        }
        DType dtype = switch (descr.group(1)) {
            case "<f4" -> DType.F32;
            case "<f2" -> DType.F16;
            case "<f8" -> DType.F64;
            case "<V2", "|V2", "bfloat16" -> DType.BF16;
            default -> throw new VitException(where + ": element type '" + descr.group(1)
                    + "' is not read (little-endian float32, float16, float64 or bfloat16)");
        };
        if (fortran.group(1).equals("True")) {
            throw new VitException(where + " is in Fortran order, which is not read");
        }
        List<Integer> dims = new ArrayList<>();
        for (String d : shapeText.group(1).split(",")) {
            String t = d.strip();
            if (t.isEmpty()) {
                continue;
            }
            if (t.length() > 10 || !t.chars().allMatch(Character::isDigit) || Long.parseLong(t) > Integer.MAX_VALUE
                    || dims.size() >= 8) {
                throw new VitException(where + ": bad shape (" + shapeText.group(1) + ")");
            }
            dims.add(Integer.parseInt(t));
        }
        int[] shape = dims.stream().mapToInt(Integer::intValue).toArray();
        long dataStart = start + headerLength;
        double need = (double) Tensor.numel(shape) * dtype.bytes();
        if (Tensor.numel(shape) > Integer.MAX_VALUE - 8 || need != b.limit() - dataStart) {
            throw new VitException(where + ": shape " + Arrays.toString(shape) + " " + dtype + " needs "
                    + (long) need + " bytes, the member holds " + (b.limit() - dataStart));
        }
        return new Array(new Info(key, dtype, shape), b.slice((int) dataStart, b.limit() - (int) dataStart)
                .order(ByteOrder.LITTLE_ENDIAN));
    }

    @Override
    public String format() {
        return "JAX/Flax .npz";
    }

    @Override
    public Tensor tensor(String name) {
        int[] shape = info(name).shape();
        Mapped m = mapped.get(name);
        if (m.parts.size() == 1 && m.parts.get(0).op == Op.AS_IS) {
            Array a = arrays.get(m.parts.get(0).source);
            return Safetensors.floats(path(), a.info, a.data).reshape(shape);
        }
        float[] out = new float[(int) Tensor.numel(shape)];
        int at = 0;
        for (Part p : m.parts) {
            Array a = arrays.get(p.source);
            FloatBuffer src = Safetensors.floats(path(), a.info, a.data).data();
            int[] s = a.info.shape();
            int n = src.capacity();
            switch (p.op) {
                case AS_IS -> src.get(0, out, at, n);
                case CONV -> {
                    // (p, p, C, D) -> (D, C, p, p)
                    int ph = s[0];
                    int pw = s[1];
                    int c = s[2];
                    int d = s[3];
                    for (int y = 0; y < ph; y++) {
                        for (int x = 0; x < pw; x++) {
                            for (int ci = 0; ci < c; ci++) {
                                for (int di = 0; di < d; di++) {
                                    out[at + ((di * c + ci) * ph + y) * pw + x] = src.get(((y * pw + x) * c + ci) * d + di);
                                }
                            }
                        }
                    }
                }
                case TRANSPOSE -> {
                    int split = p.split < 0 ? s.length + p.split : p.split;
                    int rows = (int) Tensor.numel(Arrays.copyOfRange(s, 0, split));
                    int cols = n / Math.max(rows, 1);
                    for (int r = 0; r < rows; r++) {
                        for (int col = 0; col < cols; col++) {
                            out[at + col * rows + r] = src.get(r * cols + col);
                        }
                    }
                }
            }
            at += n;
        }
        return Tensor.of(out, shape);
    }
}
