package dev.vitjava.cli;

import dev.vitjava.VitException;
import dev.vitjava.checkpoint.LoadedModel;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

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
public final class ModelOptions {

    /** The short name of the bundled demo model. */
    static final String DEMO = "demo";

    @Option(names = {"-m", "--model"}, paramLabel = "MODEL",
            description = "The model: a path, hub id, URL or timm name, see below (default: demo).")
    String model;

    @Option(names = "--config", paramLabel = "FILE",
            description = "config.json (Hugging Face or timm format) for a bare checkpoint.")
    Path config;

    @Option(names = "--num-heads", paramLabel = "N", converter = OptionValues.NonNegative.class,
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
        PrintWriter err = command != null ? command.commandLine().getErr() : new PrintWriter(System.err, true);
        LoadedModel loaded = spec().load(Terminal.stderrIsTerminal() ? System.err : null,
                notice -> err.println("vit: " + notice));
        weightsFile = loaded.weightsFile();
        return loaded;
    }

    /** The options as values another JVM can resolve (a Spark executor). */
    public ModelSpec spec() {
        // Local paths absolute, so a JVM with another working directory finds them.
        String where = model != null && Files.exists(Path.of(model)) ? Path.of(model).toAbsolutePath().toString() : model;
        return new ModelSpec(where, revision, config == null ? null : config.toAbsolutePath().toString(), numHeads,
                ema);
    }
}
