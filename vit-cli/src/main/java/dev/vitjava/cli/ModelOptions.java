package dev.vitjava.cli;

import dev.vitjava.VitException;
import dev.vitjava.checkpoint.LoadedModel;
import dev.vitjava.checkpoint.ModelLoader;
import dev.vitjava.hub.Hub;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** Which model to load: a directory, a safetensors file, a hub id, or by default the bundled demo model. */
final class ModelOptions {

    @Option(names = {"-m", "--model"}, paramLabel = "MODEL",
            description = "Model directory (weights + config.json), checkpoint file (.safetensors, shard index,"
                    + " .pth/.pt/.bin/.ckpt torch.save zip, JAX .npz), or hub id such as"
                    + " google/vit-base-patch16-224 or timm/vit_base_patch16_224.augreg2_in21k_ft_in1k"
                    + " (default: the bundled Fashion-MNIST demo model).")
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

    @Spec(Spec.Target.MIXEE)
    CommandSpec command;

    /** The weights file of the loaded model, which a fault in its memory mapping is reported against. */
    Path weightsFile;

    LoadedModel load() {
        if (numHeads < 0) {
            throw new VitException("--num-heads must be positive, not " + numHeads);
        }
        ModelLoader.Options options = new ModelLoader.Options(config, numHeads, ema);
        LoadedModel loaded;
        if (model == null || Files.exists(Path.of(model)) || !Hub.isRepoId(model)) {
            loaded = ModelLoader.load(model == null ? DemoModel.directory() : Path.of(model), options);
        } else {
            loaded = loadFromHub(options);
        }
        weightsFile = loaded.weightsFile();
        return loaded;
    }

    /** A hub id (org/name) downloaded into the HF cache; a cached file that fails to load is checked and re-fetched once. */
    private LoadedModel loadFromHub(ModelLoader.Options options) {
        Hub.checkRevision(revision);
        PrintStream progress = System.console() != null ? System.err : null;
        PrintWriter err = command != null ? command.commandLine().getErr() : new PrintWriter(System.err, true);
        Hub hub = Hub.fromEnvironment(System.getenv(), progress, notice -> err.println("vit: " + notice));
        Path snapshot = hub.snapshot(model, revision);
        try {
            return ModelLoader.load(snapshot, options);
        } catch (VitException e) {
            if (hub.offline() || !hub.evictDamaged(snapshot)) {
                throw e;
            }
            return ModelLoader.load(hub.snapshot(model, revision), options);
        }
    }
}
