package dev.vitjava.cli;

import dev.vitjava.checkpoint.CheckpointWriter;
import dev.vitjava.checkpoint.LoadedModel;
import dev.vitjava.checkpoint.Naming;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** Writes any loadable checkpoint as safetensors plus config.json, so that a slow or unsafe format is read once. */
@Command(name = "convert", mixinStandardHelpOptions = true,
        description = {"Write a model as float32 safetensors with a config.json beside it.",
            "IN is anything --model takes: a safetensors file or directory, a shard index, a",
            "torch.save checkpoint (.pth/.pt/.bin/.ckpt), a JAX .npz or a hub id."})
final class ConvertCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "IN", description = "The model to convert.")
    String in;

    @Parameters(index = "1", paramLabel = "OUT", description = "The .safetensors file to write; config.json (and"
            + " preprocessor_config.json where needed) go beside it.")
    Path out;

    @Option(names = "--naming", paramLabel = "NAMING",
            description = "Key naming of the output: timm, hf or torchvision (default: the input's; timm for .npz).")
    String naming;

    @Mixin
    ModelOptions modelOptions;

    @Override
    public Integer call() {
        Naming target = null;
        if (naming != null) {
            target = Naming.byName(naming);
            if (target == null) {
                throw new CommandLine.ParameterException(spec.commandLine(),
                        "Invalid value for option '--naming': '" + naming + "' (expected timm, hf or torchvision)");
            }
        }
        modelOptions.model = in;
        LoadedModel model = modelOptions.load();
        Naming to = target != null ? target : model.naming();
        double eps = model.model().config().layerNormEps();
        if (to != Naming.HUGGING_FACE && eps != to.layerNormEps()) {
            // timm's config.json has no field for it: the converted model will use its naming's eps
            spec.commandLine().getErr().println("vit: note: LayerNorm eps " + eps + " becomes " + to.layerNormEps()
                    + ", which a " + to.id() + " config implies (logits move by about 1e-6)");
        }
        List<Path> written = CheckpointWriter.write(model, to, out);
        for (Path p : written) {
            spec.commandLine().getOut().println("wrote " + p);
        }
        return 0;
    }
}
