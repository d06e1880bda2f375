package dev.vitjava.cli;

import dev.vitjava.checkpoint.LoadedModel;
import dev.vitjava.checkpoint.ModelLoader;
import dev.vitjava.VitException;
import dev.vitjava.hub.Hub;
import dev.vitjava.hub.ModelId;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Which model to load: a directory, a safetensors file, a hub model (id, {@code hf-hub:} id, URL or timm name), or
 * the bundled demo model, which every command uses by default. The spellings are listed in a footer, whose lines
 * are never re-wrapped (an option's description would be broken inside model ids).
 */
@Command(footer = {"",
    "MODEL is a directory (weights + config.json) or a checkpoint file (.safetensors,",
    "  shard index, .pth/.pt/.bin/.ckpt torch.save zip, JAX .npz);",
    "  a Hugging Face Hub model: google/vit-base-patch16-224, hf-hub:org/name,",
    "  hf-hub:org/name@revision, https://huggingface.co/org/name[/tree/revision];",
    "  a timm name: vit_base_patch16_224 or vit_base_patch16_224.augreg_in21k (from",
    "  a bundled table of timm's ViTs); or demo, the bundled Fashion-MNIST model.",
    "Hub models are downloaded once into the Hugging Face cache."})
final class ModelOptions {

    /** The short name of the bundled demo model. */
    static final String DEMO = "demo";

    @Option(names = {"-m", "--model"}, paramLabel = "MODEL",
            description = "The model: a path, hub id, URL or timm name, see below (default: demo).")
    String model;

    @Option(names = "--config", paramLabel = "FILE",
            description = "config.json (Hugging Face or timm format) for a bare checkpoint.")
    Path config;

    @Option(names = "--num-heads", paramLabel = "N",
            description = "Attention heads of a bare checkpoint whose width is not a standard ViT size.")
    int numHeads;

    @Option(names = "--ema",
            description = "Use the EMA weights of a training checkpoint (state_dict_ema, model_ema or ema).")
    boolean ema;

    @Option(names = "--revision", paramLabel = "REV", defaultValue = "main",
            description = "Hub revision (branch, tag or commit) for a hub model id (default: ${DEFAULT-VALUE}).")
    String revision;

    LoadedModel load() {
        return ModelLoader.load(resolve(), new ModelLoader.Options(config, numHeads, ema));
    }

    /**
     * The local directory or file: a path that exists, the demo model, or a hub model downloaded into the Hugging
     * Face cache.
     */
    Path resolve() {
        if (model == null) {
            return DemoModel.directory();
        }
        Path path = Path.of(model);
        if (Files.exists(path)) {
            return path;
        }
        if (model.equals(DEMO)) {
            return DemoModel.directory();
        }
        Hub hub = Hub.fromEnvironment(System.getenv(), Terminal.stderrIsTerminal() ? System.err : null);
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
}
