package dev.vitjava.cli;

import dev.vitjava.checkpoint.LoadedModel;
import dev.vitjava.checkpoint.ModelLoader;
import dev.vitjava.hub.Hub;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine.Option;

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

    LoadedModel load() {
        return ModelLoader.load(resolve(), new ModelLoader.Options(config, numHeads, ema));
    }

    /** The local directory or file: the demo model, a path, or a hub id (org/name) downloaded into the HF cache. */
    Path resolve() {
        if (model == null) {
            return DemoModel.directory();
        }
        Path path = Path.of(model);
        if (Files.exists(path) || !Hub.isRepoId(model)) {
            return path;
        }
        PrintStream progress = System.console() != null ? System.err : null;
        return Hub.fromEnvironment(System.getenv(), progress).snapshot(model, revision);
    }
}
