package dev.vitjava.checkpoint;

import dev.vitjava.VitException;
import dev.vitjava.tensor.Tensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A {@code torch.save} checkpoint ({@code .pth}, {@code .pt}, {@code .bin}, {@code .ckpt}) in the zip format
 * PyTorch writes since 1.6: {@code <archive>/data.pkl} holds the object, {@code <archive>/data/<key>} the raw
 * storages. The pickle is read by {@link Pickle}, which never imports or calls anything: here it builds only
 * tensors ({@code torch._utils._rebuild_tensor_v2}, {@code _rebuild_parameter}), storages and dicts; every other
 * global (an {@code argparse.Namespace}, a numpy scalar, {@code posix.system}) stays an inert placeholder.
 *
 * <p>The state dict is the object itself when it maps names to tensors, else the first of {@code model},
 * {@code state_dict}, {@code model_state}, {@code model_state_dict}, {@code module} that does (or with
 * {@code ema}, {@code state_dict_ema}, {@code model_ema}, {@code ema}), searched a few levels deep. DDP's
 * {@code module.} and {@code torch.compile}'s {@code _orig_mod.} prefixes are removed. Contiguous tensors are
 * views of the memory-mapped archive; strided views are gathered on access.
 */
final class TorchCheckpoint extends ArchiveSource {

    private static final List<String> STATE_KEYS = List.of("model", "state_dict", "model_state", "model_state_dict",
            "module");
    private static final List<String> EMA_KEYS = List.of("state_dict_ema", "model_ema", "ema");
    private static final List<String> PREFIXES = List.of("module.", "_orig_mod.");
    /** How deep to look for a state dict inside nested training-checkpoint dicts. */
    private static final int MAX_DEPTH = 4;
    /** data.pkl beyond this is not a checkpoint's: real ones are a few hundred KiB. */
    private static final long MAX_PICKLE_BYTES = 256L << 20;

    /** A storage as the pickle's persistent id describes it. */
    record Storage(String key, DType dtype, long numel) {
    }

    /** A tensor: a strided view of a storage. */
    record View(Storage storage, long offset, int[] shape, long[] stride) {
    }

    private final String archive;
    private final Map<String, View> views;
    private final Map<String, ByteBuffer> storageBytes = new HashMap<>();

    private TorchCheckpoint(ZipArchive zip, String archive, Map<String, View> views, List<String> notes) {
        super(zip, views.entrySet().stream()
                .map(e -> new Info(e.getKey(), e.getValue().storage.dtype, e.getValue().shape)).toList(), notes);
        this.archive = archive;
        this.views = views;
    }

    /** The archive prefix ({@code model/} for {@code model/data.pkl}) if the zip is a torch.save archive. */
    static String archivePrefix(ZipArchive zip) {
        for (String name : zip.entries().keySet()) {
            int slash = name.indexOf('/');
            if (slash > 0 && name.substring(slash).equals("/data.pkl")) {
                return name.substring(0, slash + 1);
            }
        }
        return null;
    }

    static TorchCheckpoint open(ZipArchive zip, String archive, boolean ema) {
        Path path = zip.path();
        ZipArchive.Entry byteorder = zip.entries().get(archive + "byteorder");
        if (byteorder != null) {
            if (byteorder.size() > 16) {
                throw new VitException(path + ": byteorder record of " + byteorder.size() + " bytes");
            }
            String order = StandardCharsets.US_ASCII.decode(zip.bytes(byteorder)).toString().strip();
            if (!order.equals("little")) {
                throw new VitException(path + ": storages are '" + Checkpoints.shown(order) + "'-endian; only little-endian is read");
            }
        }
        ZipArchive.Entry pkl = zip.entries().get(archive + "data.pkl");
        if (pkl.size() > MAX_PICKLE_BYTES) {
            throw new VitException(path + ": data.pkl of " + pkl.size() + " bytes is too large for a checkpoint");
        }
        return fromPickle(zip, archive, zip.bytes(pkl), ema);
    }

    /** Reads the archive's pickle (given separately so that it can be fuzzed against a real archive). */
    static TorchCheckpoint fromPickle(ZipArchive zip, String archive, ByteBuffer pickle, boolean ema) {
        Path path = zip.path();
        Pickle.Result result;
        try {
            result = Pickle.load(pickle, new Rebuilder(zip, archive));
        } catch (Pickle.PickleException e) {
            throw new VitException(path + ": data.pkl: " + e.getMessage());
        }
        List<String> notes = new ArrayList<>();
        List<String> unknown = result.globals().stream().map(Pickle.Global::toString)
                .filter(g -> !Rebuilder.KNOWN.contains(g)).sorted().toList();
        if (!unknown.isEmpty()) {
            notes.add("globals kept as inert placeholders (never imported or called): " + preview(unknown));
        }
        Map<String, View> views = stateDict(path, result.value(), ema, notes);
        return new TorchCheckpoint(zip, archive, views, notes);
    }

    /** Finds the state dict in the unpickled object and strips the wrapper prefixes. */
    private static Map<String, View> stateDict(Path path, Object root, boolean ema, List<String> notes) {
        if (!(root instanceof Map<?, ?> top)) {
            throw new VitException(path + ": the pickled object is " + describe(root)
                    + ", not a dict of tensors (a whole pickled model is not read; save its state_dict())");
        }
        List<String> topKeys = top.keySet().stream().filter(String.class::isInstance).map(String.class::cast).toList();
        String where;
        Map<?, ?> found;
        if (!ema && countTensors(top) > 0) {
            where = "the top-level dict";
            found = top;
            notes.add("a state dict of " + countTensors(top) + " tensors at the top level");
        } else {
            List<String> trail = new ArrayList<>();
            found = search(top, ema ? EMA_KEYS : STATE_KEYS, trail, 0, Collections.newSetFromMap(new IdentityHashMap<>()));
            if (found == null) {
                throw new VitException(path + ": no " + (ema ? "EMA " : "") + "state dict found (looked for "
                        + String.join(", ", ema ? EMA_KEYS : STATE_KEYS) + "; top-level keys: "
                        + preview(topKeys) + ")");
            }
            where = "'" + String.join("' / '", trail.stream().map(Checkpoints::shown).toList()) + "'";
            notes.add("checkpoint dict with keys " + preview(topKeys) + "; weights from " + where
                    + (ema ? " (EMA weights, --ema)" : ""));
            if (!ema && topKeys.stream().anyMatch(EMA_KEYS::contains)) {
                notes.add("EMA weights present and not used (use --ema)");
            }
        }
        Map<String, View> views = new LinkedHashMap<>();
        List<String> skipped = new ArrayList<>();
        Map<String, Integer> stripped = new LinkedHashMap<>();
        for (Map.Entry<?, ?> e : found.entrySet()) {
            if (!(e.getKey() instanceof String key) || !(e.getValue() instanceof View v)) {
                skipped.add(keyName(e.getKey()) + " (" + describe(e.getValue()) + ")");
                continue;
            }
            String name = key;
            for (boolean again = true; again; ) {
                again = false;
                for (String prefix : PREFIXES) {
                    if (name.startsWith(prefix)) {
                        name = name.substring(prefix.length());
                        stripped.merge(prefix, 1, Integer::sum);
                        again = true;
                    }
                }
            }
            if (views.put(name, v) != null) {
                throw new VitException(path + ": tensor '" + Checkpoints.shown(name) + "' appears twice once prefixes are removed");
            }
        }
        if (views.isEmpty()) {
            throw new VitException(path + ": " + where + " holds no tensors");
        }
        stripped.forEach((prefix, n) -> notes.add("removed the '" + Checkpoints.shown(prefix) + "' prefix from " + n + " keys"));
        if (!skipped.isEmpty()) {
            notes.add("ignored " + skipped.size() + " non-tensor entries: " + preview(skipped));
        }
        return views;
    }

    private static Map<?, ?> search(Map<?, ?> dict, List<String> keys, List<String> trail, int depth,
            Set<Object> seen) {
        if (depth >= MAX_DEPTH || !seen.add(dict)) {
            return null;
        }
        for (String k : keys) {
            if (dict.get(k) instanceof Map<?, ?> inner) {
                trail.add(k);
                if (countTensors(inner) > 0) {
                    return inner;
                }
                Map<?, ?> deeper = search(inner, keys, trail, depth + 1, seen);
                if (deeper != null) {
                    return deeper;
                }
                trail.remove(trail.size() - 1);
            }
        }
        return null;
    }

    private static long countTensors(Map<?, ?> m) {
        return m.entrySet().stream().filter(e -> e.getKey() instanceof String && e.getValue() instanceof View).count();
    }

    private static String keyName(Object key) {
        return key instanceof String s ? s : "(" + describe(key) + " key)";
    }

    /** A short description of an unpickled value that never walks into it. */
    static String describe(Object v) {
        if (v == null) {
            return "None";
        }
        if (v instanceof Pickle.Opaque o) {
            return o.toString();
        }
        if (v instanceof Map<?, ?> m) {
            return "a dict of " + m.size();
        }
        if (v instanceof List<?> l) {
            return "a sequence of " + l.size();
        }
        if (v instanceof String) {
            return "a string";
        }
        if (v instanceof View) {
            return "a tensor";
        }
        return "a " + v.getClass().getSimpleName().toLowerCase();
    }

    private static String preview(List<String> items) {
        return String.join(", ", items.subList(0, Math.min(6, items.size())).stream().map(Checkpoints::shown).toList())
                + (items.size() > 6 ? ", ... (" + items.size() + ")" : "");
    }

    @Override
    public String format() {
        return "PyTorch zip pickle (torch.save)";
    }

    @Override
    public Tensor tensor(String name) {
        Info info = info(name);
        View v = views.get(name);
        ByteBuffer storage = storageBytes.computeIfAbsent(v.storage.key,
                k -> zip.bytes(zip.entries().get(archive + "data/" + k)));
        int es = v.storage.dtype.bytes();
        long numel = info.numel();
        if (isContiguous(v)) {
            ByteBuffer slice = storage.slice((int) (v.offset * es), (int) (numel * es));
            return Safetensors.floats(path(), info, slice);
        }
        // a strided view: gather its elements in row-major order
        byte[] out = new byte[(int) (numel * es)];
        int rank = v.shape.length;
        int[] index = new int[rank];
        for (long i = 0; i < numel; i++) {
            long src = v.offset;
            for (int d = 0; d < rank; d++) {
                src += index[d] * v.stride[d];
            }
            storage.get((int) (src * es), out, (int) (i * es), es);
            for (int d = rank - 1; d >= 0 && ++index[d] == v.shape[d]; d--) {
                index[d] = 0;
            }
        }
        return Safetensors.floats(path(), info, ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN));
    }

    private static boolean isContiguous(View v) {
        long expected = 1;
        for (int d = v.shape.length - 1; d >= 0; d--) {
            if (v.shape[d] != 1 && v.stride[d] != expected) {
                return false;
            }
            expected *= v.shape[d];
        }
        return true;
    }

    /** Builds storages and tensors from the pickle's calls; knows nothing else. */
    private static final class Rebuilder implements Pickle.Calls {
        static final Set<String> KNOWN = Set.of("collections.OrderedDict", "torch._utils._rebuild_tensor_v2",
                "torch._utils._rebuild_tensor", "torch._utils._rebuild_parameter",
                "torch._utils._rebuild_parameter_with_state", "torch._tensor._rebuild_from_type_v2",
                "torch.FloatStorage", "torch.HalfStorage", "torch.BFloat16Storage", "torch.DoubleStorage",
                "torch.LongStorage", "torch.IntStorage", "torch.ShortStorage", "torch.CharStorage",
                "torch.ByteStorage", "torch.BoolStorage");
        private static final Map<String, DType> STORAGE_TYPES = Map.of("FloatStorage", DType.F32,
                "HalfStorage", DType.F16, "BFloat16Storage", DType.BF16, "DoubleStorage", DType.F64,
                "LongStorage", DType.I64, "IntStorage", DType.I32, "ShortStorage", DType.I16,
                "CharStorage", DType.I8, "ByteStorage", DType.U8, "BoolStorage", DType.BOOL);

        private final ZipArchive zip;
        private final String archive;
        private final Map<String, Storage> storages = new HashMap<>();

        Rebuilder(ZipArchive zip, String archive) {
            this.zip = zip;
            this.archive = archive;
        }

        @Override
        public Object persistentLoad(Object pid) {
            if (!(pid instanceof List<?> t) || t.size() != 5 || !"storage".equals(t.get(0))
                    || !(t.get(1) instanceof Pickle.Global type) || !(t.get(2) instanceof String key)
                    || !(t.get(4) instanceof Long numel)) {
                throw new Pickle.PickleException("persistent id is not a ('storage', type, key, location, numel) tuple");
            }
            DType dtype = type.module().equals("torch") ? STORAGE_TYPES.get(type.name()) : null;
            if (dtype == null) {
                throw new Pickle.PickleException("storage type " + type + " is not supported");
            }
            ZipArchive.Entry data = zip.entries().get(archive + "data/" + key);
            if (data == null) {
                throw new Pickle.PickleException("storage '" + Checkpoints.shown(key) + "' has no data/" + key + " member");
            }
            if (numel < 0 || numel > data.size() / dtype.bytes() || numel * dtype.bytes() != data.size()) {
                throw new Pickle.PickleException("storage '" + Checkpoints.shown(key) + "': " + numel + " " + dtype + " elements but data/"
                        + key + " has " + data.size() + " bytes");
            }
            Storage s = new Storage(key, dtype, numel);
            Storage previous = storages.putIfAbsent(key, s);
            if (previous != null && !previous.equals(s)) {
                throw new Pickle.PickleException("storage '" + Checkpoints.shown(key) + "' is described twice differently");
            }
            return s;
        }

        @Override
        public Object call(Pickle.Global callable, List<Object> args) {
            if (!callable.module().startsWith("torch")) {
                return null;
            }
            return switch (callable.toString()) {
                case "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor" -> view(args);
                case "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state" ->
                        !args.isEmpty() && args.get(0) instanceof View v ? v : null;
                case "torch._tensor._rebuild_from_type_v2" -> args.size() >= 3 && args.get(0) instanceof Pickle.Global f
                        && args.get(2) instanceof List<?> inner ? call(f, castList(inner)) : null;
                default -> null;
            };
        }

        @SuppressWarnings("unchecked")
        private static List<Object> castList(List<?> l) {
            return (List<Object>) l;
        }

        private static View view(List<Object> args) {
            if (args.size() < 4 || !(args.get(0) instanceof Storage storage) || !(args.get(1) instanceof Long offset)
                    || !(args.get(2) instanceof List<?> size) || !(args.get(3) instanceof List<?> stride)
                    || size.size() != stride.size() || size.size() > 8) {
                throw new Pickle.PickleException("tensor rebuild arguments are not (storage, offset, size, stride)");
            }
            if (offset < 0 || offset > storage.numel()) {
                throw new Pickle.PickleException("tensor offset " + offset + " is outside storage '" + storage.key()
                        + "' of " + storage.numel() + " elements");
            }
            int[] shape = new int[size.size()];
            long[] strides = new long[size.size()];
            long numel = 1;
            long last = offset;
            for (int d = 0; d < shape.length; d++) {
                if (!(size.get(d) instanceof Long n) || n < 0 || n > Integer.MAX_VALUE
                        || !(stride.get(d) instanceof Long s) || s < 0 || s > Integer.MAX_VALUE) {
                    throw new Pickle.PickleException("tensor size or stride out of range");
                }
                shape[d] = (int) (long) n;
                strides[d] = s;
                // each factor is below 2^31 and each partial result is checked, so nothing overflows
                numel *= Math.max(n, 1);
                if (n > 0) {
                    last += (n - 1) * s;
                }
                if (numel > Integer.MAX_VALUE || last > storage.numel() + Integer.MAX_VALUE) {
                    throw new Pickle.PickleException("tensor view of storage '" + Checkpoints.shown(storage.key()) + "' is too large");
                }
            }
            boolean empty = Tensor.numel(shape) == 0;
            // every element inside the storage; no more elements than the storage holds (bounds the gather)
            if (!empty && (last >= storage.numel() || numel > storage.numel())
                    || numel > Integer.MAX_VALUE - 8) {
                throw new Pickle.PickleException("tensor view (offset " + offset + ", shape " + size.size()
                        + "-d) does not fit its storage '" + Checkpoints.shown(storage.key()) + "' of " + storage.numel() + " elements");
            }
            return new View(storage, offset, shape, strides);
        }
    }
}
