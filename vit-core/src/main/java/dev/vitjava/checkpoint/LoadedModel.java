package dev.vitjava.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import dev.vitjava.model.ViTModel;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * A model as loaded from disk: the ViT itself plus what came with it.
 *
 * @param weightsFile        the weights file (or shard index)
 * @param format             the weights' file format in words
 * @param notes              what the reader found and used besides the tensors (checkpoint keys, prefixes, ...)
 * @param naming             the checkpoint's key naming
 * @param configSource       where the config came from (a file, or "tensor shapes")
 * @param model              the ViT
 * @param labels             class names, one per logit (never null; may be generic)
 * @param config             the raw config.json, or null
 * @param preprocessorConfig the raw preprocessor_config.json (Hugging Face), or null
 * @param tensors            the checkpoint's tensor table in its own naming
 */
public record LoadedModel(
        Path weightsFile,
        String format,
        List<String> notes,
        Naming naming,
        String configSource,
        ViTModel model,
        List<String> labels,
        JsonNode config,
        JsonNode preprocessorConfig,
        Map<String, TensorSource.Info> tensors) {
}
