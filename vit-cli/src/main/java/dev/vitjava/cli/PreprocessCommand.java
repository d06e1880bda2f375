package dev.vitjava.cli;

import dev.vitjava.checkpoint.SafetensorsWriter;
import dev.vitjava.image.Preprocessing;
import dev.vitjava.io.Printable;
import dev.vitjava.tensor.Tensor;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** Writes the exact model input for an image, to compare with PyTorch. */
@Command(name = "preprocess", mixinStandardHelpOptions = true,
        description = {"Write the exact model input for an image, as PIL + torchvision would make it.",
            "The tensor is pixel_values, 1xCxHxW float32, in a safetensors file. The",
            "pipeline is the model's (default: the demo model), or with --preset and no",
            "--model the preset's.",
            "Example (torchvision's Resize(256, BICUBIC) -> CenterCrop(224) ImageNet):",
            "  vit preprocess --preset timm --img-size 224 --crop-pct 0.875 \\",
            "      --interpolation bicubic --mean 0.485,0.456,0.406 \\",
            "      --std 0.229,0.224,0.225 photo.jpg --output t.safetensors"})
final class PreprocessCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    ModelOptions modelOptions;

    @Mixin
    PreprocessOptions preprocessOptions;

    @Parameters(index = "0", paramLabel = "IMAGE", description = "The image file (- for stdin).")
    Path image;

    @Option(names = {"-o", "--output"}, required = true, paramLabel = "FILE", description = "Output safetensors.")
    Path output;

    @Override
    public Integer call() {
        Preprocessing p = modelOptions.model == null && preprocessOptions.preset != null
                ? preprocessOptions.withoutModel() : preprocessOptions.forModel(modelOptions.load());
        Tensor chw = p.toTensor(preprocessOptions.reader(p).apply(image), preprocessOptions.maxPixels);
        Tensor nchw = chw.reshape(1, chw.dim(0), chw.dim(1), chw.dim(2));
        SafetensorsWriter.write(output, Map.of("pixel_values", nchw),
                Map.of("image", image.toString(), "preprocessing", p.describe()));
        spec.commandLine().getOut().println(Printable.escape(output.toString()) + ": pixel_values " + nchw.shapeString() + " (" + p.describe() + ")");
        return 0;
    }
}
