package dev.vitjava.cli;

import dev.vitjava.checkpoint.LoadedModel;
import dev.vitjava.checkpoint.ModelLoader;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** Which model to load: a directory, a safetensors file, a hub id, or by default the bundled demo model. */
final class ModelOptions {

    @Option(names = {"-m", "--model"}, paramLabel = "MODEL",
            description = "Model directory (model.safetensors + config.json) or .safetensors file"
                    + " (default: the bundled Fashion-MNIST demo model).")
    String model;

    @Option(names = "--config", paramLabel = "FILE",
            description = "config.json (Hugging Face or timm format) for a bare checkpoint.")
    Path config;

    @Option(names = "--num-heads", paramLabel = "N",
            description = "Attention heads of a bare checkpoint whose width is not a standard ViT size.")
    int numHeads;

    LoadedModel load() {
        Path path = model == null ? DemoModel.directory() : Path.of(model);
        return ModelLoader.load(path, new ModelLoader.Options(config, numHeads));
    }
}
