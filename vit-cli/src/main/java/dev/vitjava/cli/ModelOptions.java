package dev.vitjava.cli;

import dev.vitjava.checkpoint.LoadedModel;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** Which model to load: a directory, a checkpoint file, a hub id, or by default the bundled demo model. */
public final class ModelOptions {

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
        return spec().load(System.console() != null ? System.err : null);
    }

    /** The options as values another JVM can resolve (a Spark executor). */
    public ModelSpec spec() {
        // Local paths absolute, so a JVM with another working directory finds them.
        String where = model != null && Files.exists(Path.of(model)) ? Path.of(model).toAbsolutePath().toString() : model;
        return new ModelSpec(where, revision, config == null ? null : config.toAbsolutePath().toString(), numHeads,
                ema);
    }
}
