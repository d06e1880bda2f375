package dev.vitjava.checkpoint;

import dev.vitjava.VitException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/**
 * Where a model's files are: the weights (a checkpoint file or a shard index), its {@code config.json} and
 * Hugging Face {@code preprocessor_config.json}. A model is a single weights file (used alone), a directory, a
 * Hugging Face hub snapshot directory, or a hub cache entry ({@code models--org--name}, whose {@code refs/main}
 * names the snapshot).
 *
 * @param weights      the weights file or shard index
 * @param config       config.json (or the --config override), or null
 * @param preprocessor preprocessor_config.json, or null
 */
public record ModelFiles(Path weights, Path config, Path preprocessor) {

    /** Weight files a directory is searched for first, in this order. */
    private static final List<String> PREFERRED = List.of("model.safetensors", "model.safetensors.index.json",
            "pytorch_model.bin", "pytorch_model.bin.index.json");

    /** Finds a model's files; {@code configOverride} (may be null) replaces the directory's config.json. */
    public static ModelFiles find(Path path, Path configOverride) {
        if (Files.isRegularFile(path)) {
            return new ModelFiles(path, configOverride, null);
        }
        if (!Files.exists(path)) {
            throw new VitException(path + ": no such model file or directory");
        }
        if (!Files.isDirectory(path)) {
            throw new VitException(path + ": not a regular file or a directory (a pipe or device is not read)");
        }
        Path dir = hubSnapshot(path);
        Path config = configOverride != null ? configOverride : regular(dir.resolve("config.json"));
        return new ModelFiles(weightsIn(dir), config, regular(dir.resolve("preprocessor_config.json")));
    }

    /** The shard files a shard index names, each once, in order; every one a plain file name beside the index. */
    public static List<String> shards(Path index) {
        return List.copyOf(ShardedCheckpoint.shardFiles(index, Json.read(index, ShardedCheckpoint.MAX_INDEX_BYTES))
                .values().stream().distinct().toList());
    }

    private static Path regular(Path p) {
        return Files.isRegularFile(p) ? p : null;
    }

    /** A hub cache entry's current snapshot ({@code refs/main}); any other directory is itself. */
    private static Path hubSnapshot(Path dir) {
        Path ref = dir.resolve("refs").resolve("main");
        if (!Files.isDirectory(dir.resolve("snapshots")) || !Files.isRegularFile(ref)) {
            return dir;
        }
        try {
            String commit = Files.readString(ref, StandardCharsets.UTF_8).strip();
            Path snapshot = dir.resolve("snapshots").resolve(commit);
            if (!commit.matches("[0-9a-fA-F]{6,64}") || !Files.isDirectory(snapshot)) {
                throw new VitException(dir + ": refs/main names snapshot '" + Checkpoints.shown(commit) + "', which is not there");
            }
            return snapshot;
        } catch (IOException e) {
            throw new VitException(ref + ": cannot read: " + e.getMessage());
        }
    }

    private static Path weightsIn(Path dir) {
        for (String name : PREFERRED) {
            if (Files.isRegularFile(dir.resolve(name))) {
                return dir.resolve(name);
            }
        }
        List<Path> candidates;
        try (Stream<Path> files = Files.list(dir)) {
            candidates = files.filter(Files::isRegularFile).filter(p -> isWeightsName(p.getFileName().toString()))
                    .sorted().toList();
        } catch (IOException e) {
            throw new VitException(dir + ": cannot list directory: " + e.getMessage(), e);
        }
        if (candidates.size() == 1) {
            return candidates.get(0);
        }
        if (candidates.isEmpty()) {
            throw new VitException(dir + ": no checkpoint in this directory (model.safetensors, a shard index, "
                    + "pytorch_model.bin, or one .safetensors/.pth/.pt/.bin/.ckpt/.npz file)");
        }
        throw new VitException(dir + ": several checkpoint files (" + candidates.stream()
                .map(p -> p.getFileName().toString()).limit(4).reduce((a, b) -> a + ", " + b).orElse("")
                + (candidates.size() > 4 ? ", ..." : "") + ") and no model.safetensors; name the file");
    }

    private static boolean isWeightsName(String name) {
        return name.endsWith(".index.json") || Checkpoints.EXTENSIONS.stream().anyMatch(name::endsWith);
    }
}
