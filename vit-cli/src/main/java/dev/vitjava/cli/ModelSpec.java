package dev.vitjava.cli;

import dev.vitjava.VitException;
import dev.vitjava.checkpoint.LoadedModel;
import dev.vitjava.checkpoint.ModelLoader;
import dev.vitjava.hub.Hub;
import dev.vitjava.hub.ModelId;
import java.io.PrintStream;
import java.io.Serializable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Which model to load, as plain values that can travel to another JVM (a Spark executor) and be resolved there.
 *
 * @param model    a model directory, a checkpoint file, a hub model (id, {@code hf-hub:} id, URL or timm name),
 *                 {@code demo} or null for the bundled demo model
 * @param revision the hub revision for a hub id
 * @param config   a config.json for a bare checkpoint, or null
 * @param numHeads attention heads of a bare checkpoint of non-standard width, or 0
 * @param ema      whether to use the EMA weights of a training checkpoint
 */
public record ModelSpec(String model, String revision, String config, int numHeads, boolean ema)
        implements Serializable {

    /** {@code model} (null: the demo model) at the hub's main revision, with no overrides. */
    public static ModelSpec of(String model) {
        return new ModelSpec(model, "main", null, 0, false);
    }

    /**
     * The local directory or file: a path that exists, the demo model, or a hub model downloaded into the Hugging
     * Face cache (progress to {@code progress} when not null).
     */
    public Path resolve(PrintStream progress) {
        if (model == null) {
            return DemoModel.directory();
        }
        Path path = Path.of(model);
        if (Files.exists(path)) {
            return path;
        }
        if (model.equals(ModelOptions.DEMO)) {
            return DemoModel.directory();
        }
        Hub hub = Hub.fromEnvironment(System.getenv(), progress);
        Optional<ModelId> id = ModelId.parse(model, hub.endpoint());
        if (id.isPresent()) {
            return hub.snapshot(id.get().repo(), id.get().revision() != null ? id.get().revision() : revision);
        }
        if (ModelId.looksLikeTimmName(model)) {
            throw new VitException(model + ": no such file, and not a timm ViT with classification weights that vit"
                    + " knows; give the hub id instead, e.g. timm/" + ModelId.exampleTimmName());
        }
        return path;
    }

    public LoadedModel load(PrintStream progress) {
        return ModelLoader.load(resolve(progress),
                new ModelLoader.Options(config == null ? null : Path.of(config), numHeads, ema));
    }
}
