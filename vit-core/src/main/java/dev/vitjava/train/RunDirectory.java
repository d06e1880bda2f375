package dev.vitjava.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.vitjava.VitException;
import dev.vitjava.checkpoint.Safetensors;
import dev.vitjava.checkpoint.SafetensorsWriter;
import dev.vitjava.tensor.Tensor;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * A fine-tuning run's output directory: {@code model.safetensors} (timm names) and {@code config.json} (timm hub
 * format) of the latest epoch, {@code log.jsonl}, and {@code checkpoint/} (the same model plus the optimizer state
 * and {@code state.json}) to resume from. Every file is written to a temporary name and renamed into place, and a
 * checkpoint is a directory renamed as a whole, so an interruption leaves the previous epoch's files intact.
 */
public final class RunDirectory {

    public static final String MODEL = "model.safetensors";
    public static final String CONFIG = "config.json";
    public static final String LOG = "log.jsonl";
    static final String CHECKPOINT = "checkpoint";
    private static final String OPTIMIZER = "optimizer.safetensors";
    private static final String STATE = "state.json";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path dir;

    private RunDirectory(Path dir) {
        this.dir = dir;
    }

    public Path path() {
        return dir;
    }

    /** A directory for a new run; one that already holds a model or a checkpoint is refused unless overwrite. */
    public static RunDirectory create(Path dir, boolean overwrite) {
        if (Files.exists(dir) && !Files.isDirectory(dir)) {
            throw new VitException(dir + ": --output exists and is not a directory");
        }
        boolean hasModel = Files.exists(dir.resolve(MODEL)) || Files.exists(dir.resolve(CHECKPOINT));
        if (hasModel && !overwrite) {
            throw new VitException(dir + ": already holds a model; give --overwrite to replace it or --resume "
                    + dir + " to continue its run");
        }
        try {
            Files.createDirectories(dir);
            if (hasModel) {
                for (String name : List.of(MODEL, CONFIG, LOG)) {
                    Files.deleteIfExists(dir.resolve(name));
                }
                deleteTree(dir.resolve(CHECKPOINT));
            }
        } catch (IOException e) {
            throw new VitException(dir + ": cannot prepare the output directory: " + e.getMessage());
        }
        return new RunDirectory(dir);
    }

    /** An existing run to continue. */
    public static RunDirectory existing(Path dir) {
        if (!Files.isDirectory(dir.resolve(CHECKPOINT))) {
            Path old = dir.resolve(CHECKPOINT + ".old");
            if (Files.isDirectory(old)) {
                // interrupted between the two renames of a checkpoint: the previous one is complete
                move(old, dir.resolve(CHECKPOINT));
            } else {
                throw new VitException(dir + ": no checkpoint to resume from (" + CHECKPOINT + "/ is missing)");
            }
        }
        return new RunDirectory(dir);
    }

    /** Where the checkpoint's model (model.safetensors + config.json) lies, for the model loader. */
    public Path checkpointModel() {
        return dir.resolve(CHECKPOINT);
    }

    /** Writes model.safetensors and config.json. */
    public void saveModel(List<Param> params, JsonNode config) {
        saveModel(dir, params, config);
    }

    private static void saveModel(Path target, List<Param> params, JsonNode config) {
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        for (Param p : params) {
            tensors.put(p.name(), Tensor.of(p.toFloats(), p.shape()));
        }
        Path tmp = temp(target, MODEL);
        SafetensorsWriter.write(tmp, tensors, Map.of("format", "pt"));
        move(tmp, target.resolve(MODEL));
        writeAtomically(target.resolve(CONFIG), config.toPrettyString());
    }

    /**
     * Writes a checkpoint: the model, the optimizer state and {@code state} (the run's position and options),
     * into a fresh directory that then replaces the previous checkpoint.
     */
    public void saveCheckpoint(List<Param> params, JsonNode config, Optimizer optimizer, ObjectNode state) {
        Path next = dir.resolve(CHECKPOINT + ".tmp");
        Path current = dir.resolve(CHECKPOINT);
        Path old = dir.resolve(CHECKPOINT + ".old");
        try {
            deleteTree(next);
            Files.createDirectories(next);
        } catch (IOException e) {
            throw new VitException(next + ": cannot create: " + e.getMessage());
        }
        saveModel(next, params, config);
        Map<String, double[]> arrays = new LinkedHashMap<>();
        ObjectNode steps = state.putObject("optimizer_steps");
        optimizer.state().forEach((name, s) -> {
            arrays.put(name + ".first", s.first);
            if (s.second != null) {
                arrays.put(name + ".second", s.second);
            }
            steps.put(name, s.step);
        });
        SafetensorsWriter.writeDoubles(next.resolve(OPTIMIZER), arrays, Map.of());
        writeAtomically(next.resolve(STATE), state.toPrettyString());
        try {
            deleteTree(old);
            if (Files.exists(current)) {
                move(current, old);
            }
            move(next, current);
            deleteTree(old);
        } catch (IOException e) {
            throw new VitException(current + ": cannot replace the checkpoint: " + e.getMessage());
        }
    }

    /** The checkpoint's state.json. */
    public ObjectNode loadState() {
        Path file = dir.resolve(CHECKPOINT).resolve(STATE);
        try {
            return (ObjectNode) JSON.readTree(file.toFile());
        } catch (IOException | ClassCastException e) {
            throw new VitException(file + ": cannot read the checkpoint state: " + e.getMessage());
        }
    }

    /** Restores the optimizer state saved with the checkpoint. */
    public void loadOptimizer(Optimizer optimizer, ObjectNode state) {
        Path file = dir.resolve(CHECKPOINT).resolve(OPTIMIZER);
        JsonNode steps = state.path("optimizer_steps");
        try (Safetensors st = Safetensors.open(file)) {
            for (var it = steps.properties().iterator(); it.hasNext(); ) {
                var e = it.next();
                String name = e.getKey();
                double[] first = st.doubles(name + ".first");
                double[] second = st.contains(name + ".second") ? st.doubles(name + ".second") : null;
                optimizer.state().put(name, new Optimizer.State(first, second, e.getValue().asLong()));
            }
        }
    }

    /** Appends one line to log.jsonl. */
    public void log(String line) {
        try {
            Files.writeString(dir.resolve(LOG), line + "\n", StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                    StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new VitException(dir.resolve(LOG) + ": cannot write: " + e.getMessage());
        }
    }

    /** Bytes in log.jsonl (saved with a checkpoint, so a resumed run drops the lines written after it). */
    public long logLength() {
        try {
            return Files.exists(dir.resolve(LOG)) ? Files.size(dir.resolve(LOG)) : 0;
        } catch (IOException e) {
            return 0;
        }
    }

    public void truncateLog(long length) {
        Path log = dir.resolve(LOG);
        if (!Files.exists(log)) {
            return;
        }
        try (FileChannel ch = FileChannel.open(log, StandardOpenOption.WRITE)) {
            ch.truncate(length);
        } catch (IOException e) {
            throw new VitException(log + ": cannot truncate: " + e.getMessage());
        }
    }

    private static Path temp(Path target, String name) {
        return target.resolve("." + name + ".tmp");
    }

    private static void writeAtomically(Path file, String text) {
        Path tmp = temp(file.getParent(), file.getFileName().toString());
        try {
            Files.writeString(tmp, text, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new VitException(tmp + ": cannot write: " + e.getMessage());
        }
        move(tmp, file);
    }

    private static void move(Path from, Path to) {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new VitException(to + ": cannot rename " + from.getFileName() + " into place: " + e.getMessage());
        }
    }

    private static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(p)) {
            for (Path q : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(q);
            }
        }
    }
}
