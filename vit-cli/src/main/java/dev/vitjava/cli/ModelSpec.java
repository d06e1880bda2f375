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
import java.util.function.Consumer;

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
        return resolve(progress, ModelSpec::toStderr).path();
    }

    /** Where the model is, and the hub it came from (null for a local path or the demo model). */
    private record Resolved(Path path, Hub hub, String repo, String revision) {
    }

    private Resolved resolve(PrintStream progress, Consumer<String> notices) {
        if (model == null) {
            return new Resolved(DemoModel.directory(), null, null, null);
        }
        Path path = Path.of(model);
        if (Files.exists(path)) {
            return new Resolved(path, null, null, null);
        }
        if (model.equals(ModelOptions.DEMO)) {
            return new Resolved(DemoModel.directory(), null, null, null);
        }
        Hub hub = Hub.fromEnvironment(System.getenv(), progress, notices);
        Optional<ModelId> id = ModelId.parse(model, hub.endpoint());
        if (id.isPresent()) {
            String rev = id.get().revision() != null ? id.get().revision() : revision;
            return new Resolved(hub.snapshot(id.get().repo(), rev), hub, id.get().repo(), rev);
        }
        if (ModelId.looksLikeTimmName(model)) {
            throw new VitException(model + ": no such file, and not a timm ViT with classification weights that vit"
                    + " knows; give the hub id instead, e.g. timm/" + ModelId.exampleTimmName());
        }
        return new Resolved(path, null, null, null);
    }

    /** The model, with notices (the cache standing in for an unreachable hub, waiting for a download) on stderr. */
    public LoadedModel load(PrintStream progress) {
        return load(progress, ModelSpec::toStderr);
    }

    /**
     * The model; a hub model whose cached files fail to load is checked against the hub, and its damaged files
     * downloaded again, once (the CLI and Spark executors share one cache and one repair).
     */
    public LoadedModel load(PrintStream progress, Consumer<String> notices) {
        ModelLoader.Options options = new ModelLoader.Options(config == null ? null : Path.of(config), numHeads, ema);
        Resolved r = resolve(progress, notices);
        try {
            return ModelLoader.load(r.path(), options);
        } catch (VitException e) {
            if (r.hub() == null || r.hub().offline() || !r.hub().evictDamaged(r.path())) {
                throw e;
            }
            return ModelLoader.load(r.hub().snapshot(r.repo(), r.revision()), options);
        }
    }

    private static void toStderr(String notice) {
        System.err.println("vit: " + notice);
    }
}
