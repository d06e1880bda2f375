package dev.vitjava.cli;

import dev.vitjava.VitException;
import dev.vitjava.checkpoint.LoadedModel;
import dev.vitjava.checkpoint.Safetensors;
import dev.vitjava.checkpoint.SafetensorsWriter;
import dev.vitjava.engine.InferenceEngine;
import dev.vitjava.engine.Trace;
import dev.vitjava.tensor.Tensor;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * The experiment and parity interface: tensors in, tensors out. Input and output are safetensors, so any
 * framework can produce the input and compare the output.
 */
@Command(name = "run", mixinStandardHelpOptions = true,
        description = {"Run the model on a pixel tensor; write logits (and optionally intermediates).",
            "Input: a safetensors file with pixel_values (N,C,H,W) float32, normalised.",
            "Output: logits (N,classes) and pre_logits (N,D); with --trace also embed,",
            "block{i}_attn, block{i}_out, tokens_normed (and pos_embed_resized when the",
            "grid differs)."})
final class RunCommand implements Callable<Integer> {

    @Mixin
    ModelOptions modelOptions;

    @Mixin
    EngineOptionsMixin engineOptions;

    @Option(names = {"-i", "--input"}, required = true, paramLabel = "FILE", description = "Input safetensors.")
    Path input;

    @Option(names = "--input-key", paramLabel = "KEY", defaultValue = "pixel_values",
            description = "Tensor to read from the input (default: ${DEFAULT-VALUE}).")
    String inputKey;

    @Option(names = {"-o", "--output"}, required = true, paramLabel = "FILE", description = "Output safetensors.")
    Path output;

    @Option(names = "--trace", description = "Also write every traced intermediate.")
    boolean trace;

    @Override
    public Integer call() {
        engineOptions.prepare();
        LoadedModel loaded = modelOptions.load();
        Tensor pixels;
        try (Safetensors in = Safetensors.open(input)) {
            if (!in.contains(inputKey)) {
                List<String> keys = List.copyOf(in.entries().keySet());
                throw new VitException(input + ": no tensor '" + inputKey + "' (has: "
                        + String.join(", ", keys.subList(0, Math.min(5, keys.size())))
                        + (keys.size() > 5 ? ", ..." : "") + "; choose one with --input-key)");
            }
            pixels = in.tensor(inputKey);
        }
        InferenceEngine.Result result;
        try (InferenceEngine engine = engineOptions.create(loaded.model())) {
            result = forward(engine, pixels);
        }
        Tensor logits = result.logits();
        for (int i = 0; i < logits.size(); i++) {
            if (!Float.isFinite(logits.get(i))) {
                throw new VitException(input + ": image " + i / logits.dim(1) + " gives non-finite logits (NaN or"
                        + " infinity): check the model's weights and the input");
            }
        }
        Map<String, Tensor> out = new LinkedHashMap<>();
        out.put(Trace.LOGITS, result.logits());
        out.put(Trace.PRE_LOGITS, result.preLogits());
        if (trace) {
            result.trace().forEach(out::putIfAbsent);
        }
        SafetensorsWriter.write(output, out, Map.of("backend", engineOptions.backend,
                "model", loaded.weightsFile().toString()));
        return 0;
    }

    private InferenceEngine.Result forward(InferenceEngine engine, Tensor pixels) {
        try {
            return engine.forward(pixels, trace);
        } catch (VitException e) {
            throw new VitException(input + ": " + inputKey + ": " + e.getMessage());
        }
    }
}
