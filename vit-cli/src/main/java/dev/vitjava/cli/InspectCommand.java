package dev.vitjava.cli;

import dev.vitjava.VitException;
import dev.vitjava.checkpoint.LoadedModel;
import dev.vitjava.checkpoint.TensorSource;
import dev.vitjava.model.ViTConfig;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** Describes a checkpoint: naming, config, parameter count and tensor table. */
@Command(name = "inspect", mixinStandardHelpOptions = true,
        description = "Describe a model: key naming, config, parameter count and tensors.")
final class InspectCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", arity = "0..1", paramLabel = "MODEL",
            description = "Model directory or checkpoint file (default: the bundled demo model).")
    String model;

    @Mixin
    ModelOptions modelOptions;

    @Option(names = "--no-tensors", description = "Omit the tensor table.")
    boolean noTensors;

    @Override
    public Integer call() {
        if (model != null) {
            if (modelOptions.model != null) {
                throw new VitException("give the model once: as MODEL or with --model, not both");
            }
            modelOptions.model = model;
        }
        LoadedModel m = modelOptions.load();
        ViTConfig c = m.model().config();
        PrintWriter out = spec.commandLine().getOut();
        out.printf("file          %s%n", m.weightsFile());
        out.printf("format        %s%n", m.format());
        for (String note : m.notes()) {
            out.printf("              %s%n", note);
        }
        out.printf("naming        %s%n", m.naming().id());
        out.printf("config from   %s%n", m.configSource());
        out.printf("image size    %d x %d (patch %d, grid %d x %d, %d tokens)%n", c.imgHeight(), c.imgWidth(),
                c.patchSize(), c.gridHeight(), c.gridWidth(), c.numTokens());
        out.printf("in_chans      %d%n", c.inChans());
        out.printf("embed_dim     %d%n", c.embedDim());
        out.printf("depth         %d%n", c.depth());
        out.printf("num_heads     %d (head dim %d)%n", c.numHeads(), c.headDim());
        out.printf("mlp hidden    %d%n", c.mlpHidden());
        out.printf("qkv_bias      %b%n", c.qkvBias());
        out.printf("layer norm    eps %s%n", c.layerNormEps());
        out.printf("class_token   %b%n", c.classToken());
        out.printf("global_pool   %s%n", c.globalPool().timmName());
        out.printf("num_classes   %d%n", c.numClasses());
        out.printf("labels        %s%n", preview(m));
        out.printf("parameters    %,d%n", m.model().weights().parameterCount());
        if (!noTensors) {
            out.printf("%ntensors (%d, %s naming)%n", m.tensors().size(), m.naming().id());
            int width = m.tensors().keySet().stream().mapToInt(String::length).max().orElse(10);
            for (TensorSource.Info e : m.tensors().values()) {
                out.printf("  %-" + width + "s  %-4s  %s%n", e.name(), e.dtype(), e.shapeString());
            }
        }
        return 0;
    }

    private static String preview(LoadedModel m) {
        int n = m.labels().size();
        String head = String.join(", ", m.labels().subList(0, Math.min(5, n)));
        return n > 5 ? head + ", ... (" + n + ")" : head;
    }
}
