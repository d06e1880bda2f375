package dev.vitjava.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import dev.vitjava.VitException;
import dev.vitjava.tensor.Tensor;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A checkpoint split into shards by an index ({@code model.safetensors.index.json}, or
 * {@code pytorch_model.bin.index.json}): {@code weight_map} names the shard file of every tensor. Each shard is
 * opened as its own checkpoint (safetensors shards are memory-mapped); the shards must lie beside the index.
 */
final class ShardedCheckpoint implements TensorSource {

    static final long MAX_INDEX_BYTES = 64L << 20;

    private final Path index;
    private final List<TensorSource> shards;
    private final Map<String, TensorSource> owner;
    private final Map<String, Info> infos;

    private ShardedCheckpoint(Path index, List<TensorSource> shards, Map<String, TensorSource> owner) {
        this.index = index;
        this.shards = shards;
        this.owner = owner;
        Map<String, Info> infos = new LinkedHashMap<>();
        owner.forEach((name, shard) -> infos.put(name, shard.info(name)));
        this.infos = Collections.unmodifiableMap(infos);
    }

    /** The index's weight_map (tensor name to shard file), each file checked to be a plain name beside the index. */
    static Map<String, String> shardFiles(Path index, JsonNode json) {
        JsonNode map = json.path("weight_map");
        if (!map.isObject() || map.isEmpty()) {
            throw new VitException(index + ": no weight_map object in this shard index");
        }
        Map<String, String> files = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : map.properties()) {
            String file = e.getValue().asText("");
            if (!e.getValue().isTextual() || file.isEmpty() || file.contains("/") || file.contains("\\")
                    || file.equals("..") || file.equals(".")) {
                throw new VitException(index + ": weight_map entry '" + Checkpoints.shown(e.getKey()) + "' names '"
                        + Checkpoints.shown(file) + "', not a file beside the index");
            }
            files.put(e.getKey(), file);
        }
        return files;
    }

    static ShardedCheckpoint open(Path index, boolean ema) {
        Map<String, String> files = shardFiles(index, Json.read(index, MAX_INDEX_BYTES));
        Path dir = index.toAbsolutePath().getParent();
        Map<String, TensorSource> byFile = new LinkedHashMap<>();
        Map<String, TensorSource> owner = new LinkedHashMap<>();
        try {
            for (Map.Entry<String, String> e : files.entrySet()) {
                String file = e.getValue();
                TensorSource shard = byFile.get(file);
                if (shard == null) {
                    shard = Checkpoints.open(dir.resolve(file), ema);
                    byFile.put(file, shard);
                }
                if (!shard.contains(e.getKey())) {
                    throw new VitException(index + ": tensor '" + Checkpoints.shown(e.getKey())
                            + "' is not in its shard " + Checkpoints.shown(file));
                }
                owner.put(e.getKey(), shard);
            }
            // tensors a shard holds beyond the map are still part of the checkpoint (the loader judges them)
            for (TensorSource shard : byFile.values()) {
                for (String name : shard.tensors().keySet()) {
                    TensorSource first = owner.putIfAbsent(name, shard);
                    if (first != null && first != shard) {
                        throw new VitException(index + ": tensor '" + Checkpoints.shown(name) + "' is in two shards ("
                                + first.path().getFileName() + ", " + shard.path().getFileName() + ")");
                    }
                }
            }
        } catch (RuntimeException e) {
            byFile.values().forEach(TensorSource::close);
            throw e;
        }
        return new ShardedCheckpoint(index, List.copyOf(byFile.values()), owner);
    }

    @Override
    public Path path() {
        return index;
    }

    @Override
    public String format() {
        return shards.size() + " " + shards.get(0).format() + " shards";
    }

    @Override
    public Map<String, Info> tensors() {
        return infos;
    }

    @Override
    public List<String> notes() {
        List<String> notes = new ArrayList<>();
        for (TensorSource s : shards) {
            notes.add("shard " + s.path().getFileName() + ": " + s.tensors().size() + " tensors");
            notes.addAll(s.notes());
        }
        return notes;
    }

    @Override
    public Tensor tensor(String name) {
        TensorSource shard = owner.get(name);
        if (shard == null) {
            throw new VitException(index + ": missing tensor '" + Checkpoints.shown(name) + "'");
        }
        return shard.tensor(name);
    }

    @Override
    public void close() {
        shards.forEach(TensorSource::close);
    }
}
