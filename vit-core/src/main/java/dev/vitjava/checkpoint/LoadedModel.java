package dev.vitjava.checkpoint;

import dev.vitjava.image.Preprocessing;
import dev.vitjava.model.ViTModel;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;

/**
 * A model as loaded from disk: the ViT itself plus what came with it.
 *
 * <p>The preprocessing is read on first use ({@link #preprocessing()}): commands that feed the model tensors
 * ({@code vit run}) work even where the image pipeline cannot be built (an unsupported channel count, a
 * preprocessor config this reader does not understand).
 */
public final class LoadedModel {

    private final Path weightsFile;
    private final String format;
    private final List<String> notes;
    private final ModelFiles files;
    private final Naming naming;
    private final String configSource;
    private final ViTModel model;
    private final List<String> labels;
    private final Map<String, TensorSource.Info> tensors;
    private final Supplier<Preprocessing> reader;
    private final PreprocessingOrigin preprocessingOrigin;
    private Preprocessing preprocessing;

    /**
     * Where {@link #preprocessing()} is read from, for reports that say where each field came from.
     *
     * @param prefix how to name a field of {@code fields} ({@code "config.json pretrained_cfg."}), or null when the
     *               pipeline is the naming's default
     * @param keys   the keys that config object sets (empty for the naming's default)
     */
    public record PreprocessingOrigin(String prefix, Set<String> keys) {
    }

    /**
     * @param weightsFile  the weights file (or shard index)
     * @param format       the weights' file format in words
     * @param notes        what the reader found and used besides the tensors (checkpoint keys, prefixes, ...)
     * @param files        where the weights and the config files came from
     * @param naming       the checkpoint's key naming
     * @param configSource where the config came from (a file, or "tensor shapes")
     * @param model        the ViT
     * @param labels       class names, one per logit (never null; may be generic)
     * @param tensors      the checkpoint's tensor table in its own naming
     * @param reader       reads the model's preprocessing (called at most once)
     * @param origin       where the reader reads it from
     */
    public LoadedModel(Path weightsFile, String format, List<String> notes, ModelFiles files, Naming naming,
            String configSource, ViTModel model, List<String> labels,
            Map<String, TensorSource.Info> tensors, Supplier<Preprocessing> reader,
            PreprocessingOrigin origin) {
        this.weightsFile = weightsFile;
        this.format = format;
        this.notes = List.copyOf(notes);
        this.files = files;
        this.naming = naming;
        this.configSource = configSource;
        this.model = model;
        this.labels = labels;
        this.tensors = tensors;
        this.reader = reader;
        this.preprocessingOrigin = origin;
    }

    public PreprocessingOrigin preprocessingOrigin() {
        return preprocessingOrigin;
    }

    public Path weightsFile() {
        return weightsFile;
    }

    public String format() {
        return format;
    }

    public List<String> notes() {
        return notes;
    }

    /** The files the model was read from (the config files' paths, never their contents). */
    public ModelFiles files() {
        return files;
    }

    public Naming naming() {
        return naming;
    }

    public String configSource() {
        return configSource;
    }

    public ViTModel model() {
        return model;
    }

    public List<String> labels() {
        return labels;
    }

    public Map<String, TensorSource.Info> tensors() {
        return tensors;
    }

    /**
     * The eval pipeline the model was trained with ({@link PreprocessingReader#forModel}): its Hugging Face
     * {@code preprocessor_config.json}, else the timm {@code pretrained_cfg} in its {@code config.json}, else its
     * naming's default at the model's size.
     */
    public synchronized Preprocessing preprocessing() {
        if (preprocessing == null) {
            preprocessing = reader.get();
        }
        return preprocessing;
    }
}
