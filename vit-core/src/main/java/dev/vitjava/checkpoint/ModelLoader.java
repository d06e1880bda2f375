package dev.vitjava.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import dev.vitjava.VitException;
import dev.vitjava.model.ViTConfig;
import dev.vitjava.model.ViTModel;
import dev.vitjava.model.ViTWeights;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Loads a ViT: {@link ModelFiles} finds the files, {@link Checkpoints} opens the weights as a
 * {@link TensorSource} (safetensors, shards, PyTorch zip pickles read without running code, JAX .npz),
 * {@link Naming} detects the key naming, {@link ConfigReader} builds the config from config.json or the tensor
 * shapes, and {@link WeightMapper} maps and checks every tensor.
 */
public final class ModelLoader {

    private ModelLoader() {
    }

    /**
     * What the checkpoint itself may not say.
     *
     * @param config   a config.json to use instead of the model's own (for bare checkpoints), or null
     * @param numHeads attention heads of a bare checkpoint whose width is not a standard one, or 0
     * @param ema      read a training checkpoint's EMA weights instead of the model's
     */
    public record Options(Path config, int numHeads, boolean ema) {
        public Options(Path config, int numHeads) {
            this(config, numHeads, false);
        }

        public static Options none() {
            return new Options(null, 0);
        }
    }

    public static LoadedModel load(Path path) {
        return load(path, Options.none());
    }

    public static LoadedModel load(Path path, Options options) {
        ModelFiles files = ModelFiles.find(path, options.config());
        JsonNode configJson = files.config() == null ? null : Json.read(files.config());
        JsonNode preprocessorJson = files.preprocessor() == null ? null : Json.read(files.preprocessor());
        try (TensorSource st = Checkpoints.open(files.weights(), options.ema())) {
            return load(st, files, configJson, preprocessorJson, options.numHeads());
        }
    }

    /** Builds the model from opened weights and the parsed JSON files of {@code files} (either may be null). */
    static LoadedModel load(TensorSource st, ModelFiles files, JsonNode configJson, JsonNode preprocessorJson,
            int numHeads) {
        Path weightsFile = st.path();
        Path configFile = files.config();
        Naming.Detected naming = Naming.detect(weightsFile, st.tensors().keySet());
        ConfigReader.Shapes shapes = canonical -> shapeOf(st, naming, canonical);
        ViTConfig config = configJson != null
                ? ConfigReader.fromJson(configFile, configJson, naming.naming(), shapes)
                : ConfigReader.fromShapes(weightsFile, naming.naming(), shapes, numHeads);
        if (configJson != null && numHeads > 0 && numHeads != config.numHeads()) {
            throw new VitException("--num-heads " + numHeads + " contradicts " + configFile + ", which gives "
                    + config.numHeads() + " heads");
        }
        ViTWeights weights = new WeightMapper(st, naming, config).map();
        List<String> labels = Labels.of(configFile, configJson, config.numClasses());
        return new LoadedModel(weightsFile, st.format(), st.notes(), files, naming.naming(),
                configFile != null ? configFile.toString() : "tensor shapes", new ViTModel(config, weights),
                labels, st.tensors(), () -> PreprocessingReader.forModel(naming.naming(), config.imgHeight(),
                        config.imgWidth(), config.inChans(), configJson, preprocessorJson),
                preprocessingOrigin(configJson, preprocessorJson));
    }

    /** The object {@link PreprocessingReader#forModel} reads, chosen the same way. */
    private static LoadedModel.PreprocessingOrigin preprocessingOrigin(JsonNode config, JsonNode preprocessorConfig) {
        if (preprocessorConfig != null && preprocessorConfig.isObject()) {
            return new LoadedModel.PreprocessingOrigin("preprocessor_config.json ", keys(preprocessorConfig));
        }
        if (config != null && config.path("pretrained_cfg").isObject()) {
            return new LoadedModel.PreprocessingOrigin("config.json pretrained_cfg.", keys(config.get("pretrained_cfg")));
        }
        return new LoadedModel.PreprocessingOrigin(null, Set.of());
    }

    private static Set<String> keys(JsonNode object) {
        Set<String> keys = new HashSet<>();
        object.fieldNames().forEachRemaining(keys::add);
        return Set.copyOf(keys);
    }

    /** The shape of a canonical tensor (its sources concatenated along dimension 0), or null when absent. */
    static int[] shapeOf(TensorSource st, Naming.Detected naming, String canonical) {
        List<String> sources = naming.sources(canonical);
        if (!sources.stream().allMatch(st::contains)) {
            return null;
        }
        int[] shape = st.info(sources.get(0)).shape();
        for (int i = 1; i < sources.size(); i++) {
            shape[0] += st.info(sources.get(i)).shape()[0];
        }
        return shape;
    }
}
