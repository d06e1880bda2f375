package dev.vitjava.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.vitjava.VitException;
import dev.vitjava.checkpoint.LoadedModel;
import dev.vitjava.checkpoint.TensorSource;
import dev.vitjava.model.ViTConfig;
import java.io.PrintWriter;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** Describes a checkpoint: naming, config, preprocessing, parameter count and tensor table. */
@Command(name = "inspect", mixinStandardHelpOptions = true,
        description = {"Describe a model: key naming, config, the preprocessing its images get (each",
            "field with where it came from; preprocessing options change it as in classify),",
            "parameter count and tensors."})
final class InspectCommand implements Callable<Integer> {

    enum Format { text, json }

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", arity = "0..1", paramLabel = "MODEL",
            description = "Model, as for --model (default: the bundled demo model).")
    String model;

    @Mixin
    ModelOptions modelOptions;

    @Mixin
    PreprocessOptions preprocessOptions;

    @Option(names = "--no-tensors", description = "Omit the tensor table.")
    boolean noTensors;

    @Option(names = "--format", paramLabel = "FMT", defaultValue = "text",
            description = "Output format: ${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE}).")
    Format format;

    @Override
    public Integer call() {
        if (model != null) {
            if (modelOptions.model != null) {
                throw new VitException("give the model once: as MODEL or with --model, not both");
            }
            modelOptions.model = model;
        }
        LoadedModel m = modelOptions.load();
        List<PreprocessOptions.Field> preprocessing = preprocessOptions.provenance(m, preprocessOptions.forModel(m));
        PrintWriter out = spec.commandLine().getOut();
        if (format == Format.json) {
            out.println(json(m, preprocessing));
            return 0;
        }
        ViTConfig c = m.model().config();
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
        out.printf("%npreprocessing%n");
        int valueWidth = preprocessing.stream().mapToInt(f -> f.value().length()).max().orElse(10);
        for (PreprocessOptions.Field f : preprocessing) {
            out.printf("  %-14s %-" + valueWidth + "s  (%s)%n", f.name(), f.value(), f.source());
        }
        if (!noTensors) {
            out.printf("%ntensors (%d, %s naming)%n", m.tensors().size(), m.naming().id());
            int width = m.tensors().keySet().stream().mapToInt(String::length).max().orElse(10);
            for (TensorSource.Info e : m.tensors().values()) {
                out.printf("  %-" + width + "s  %-4s  %s%n", e.name(), e.dtype(), e.shapeString());
            }
        }
        return 0;
    }

    private ObjectNode json(LoadedModel m, List<PreprocessOptions.Field> preprocessing) {
        ViTConfig c = m.model().config();
        ObjectNode o = new ObjectMapper().createObjectNode();
        o.put("file", m.weightsFile().toString()).put("naming", m.naming().id()).put("config_from", m.configSource());
        ObjectNode config = o.putObject("config");
        config.putArray("img_size").add(c.imgHeight()).add(c.imgWidth());
        config.put("patch_size", c.patchSize()).put("in_chans", c.inChans()).put("embed_dim", c.embedDim())
                .put("depth", c.depth()).put("num_heads", c.numHeads()).put("mlp_hidden", c.mlpHidden())
                .put("qkv_bias", c.qkvBias()).put("layer_norm_eps", c.layerNormEps())
                .put("class_token", c.classToken()).put("global_pool", c.globalPool().timmName())
                .put("num_classes", c.numClasses());
        m.labels().forEach(o.putArray("labels")::add);
        o.put("parameters", m.model().weights().parameterCount());
        ObjectNode pre = o.putObject("preprocessing");
        for (PreprocessOptions.Field f : preprocessing) {
            pre.putObject(f.name()).put("value", f.value()).put("source", f.source());
        }
        if (!noTensors) {
            ArrayNode tensors = o.putArray("tensors");
            for (TensorSource.Info e : m.tensors().values()) {
                ArrayNode shape = tensors.addObject().put("name", e.name()).put("dtype", e.dtype().toString())
                        .putArray("shape");
                for (int d : e.shape()) {
                    shape.add(d);
                }
            }
        }
        return o;
    }

    private static String preview(LoadedModel m) {
        int n = m.labels().size();
        String head = String.join(", ", m.labels().subList(0, Math.min(5, n)));
        return n > 5 ? head + ", ... (" + n + ")" : head;
    }
}
