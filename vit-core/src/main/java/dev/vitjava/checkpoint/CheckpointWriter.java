package dev.vitjava.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.vitjava.VitException;
import dev.vitjava.model.ViTConfig;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes a loaded model as float32 safetensors in a chosen naming, with a {@code config.json} beside it that
 * gives back the same model: Hugging Face's format for the Hugging Face naming, timm's hub format
 * ({@code architecture}, {@code model_args}) otherwise. The preprocessing travels too: the model's own
 * {@code preprocessor_config.json} or {@code pretrained_cfg} is kept, and a model that had neither gets its
 * naming's default written out explicitly, so that a change of naming does not change the pipeline.
 */
public final class CheckpointWriter {

    private CheckpointWriter() {
    }

    /**
     * Writes {@code out} (a .safetensors file), {@code config.json} beside it and, for a model that came with one
     * or whose naming implies Hugging Face preprocessing, {@code preprocessor_config.json}. Each file is written to
     * a temporary file and renamed into place.
     *
     * @return the files written
     */
    public static List<Path> write(LoadedModel model, Naming naming, Path out) {
        if (!out.getFileName().toString().endsWith(".safetensors")) {
            throw new VitException(out + ": the output must be a .safetensors file");
        }
        ViTConfig c = model.model().config();
        if (naming != Naming.TIMM && (!c.classToken() || c.globalPool() != ViTConfig.GlobalPool.TOKEN)) {
            throw new VitException(out + ": " + naming.id() + " ViTs pool the class token; this model "
                    + (c.classToken() ? "averages the patch tokens" : "has no class token") + " (use --naming timm)");
        }
        if (naming == Naming.TORCHVISION && !c.qkvBias()) {
            throw new VitException(out + ": torchvision ViTs have a qkv bias; this model has none (use --naming timm)");
        }
        Naming.Detected target = new Naming.Detected(naming, naming == Naming.HUGGING_FACE ? "vit." : "");
        Map<String, String> metadata = new LinkedHashMap<>();
        metadata.put("format", "pt");
        metadata.put("converted_from", model.weightsFile().getFileName().toString());
        Path dir = out.toAbsolutePath().getParent();
        ObjectNode config = naming == Naming.HUGGING_FACE ? huggingFaceConfig(model) : timmConfig(model);
        // the source's own preprocessing files, re-read from where the model came from
        ModelFiles source = model.files();
        JsonNode preprocessor = source.preprocessor() == null ? null : Json.read(source.preprocessor());
        JsonNode sourceConfig = source.config() == null ? null : Json.read(source.config());
        if (preprocessor == null && sourceConfig != null && sourceConfig.path("pretrained_cfg").isObject()) {
            config.set("pretrained_cfg", sourceConfig.get("pretrained_cfg"));
        } else if (preprocessor == null) {
            // the source naming's default, written out so that it survives a change of naming
            switch (model.naming()) {
                case TIMM -> config.set("pretrained_cfg", pretrainedCfg(c, "bicubic"));
                case TORCHVISION -> config.set("pretrained_cfg", pretrainedCfg(c, "bilinear"));
                case HUGGING_FACE -> {
                    ObjectNode p = Json.MAPPER.createObjectNode();
                    p.put("image_processor_type", "ViTImageProcessor");
                    p.putObject("size").put("height", c.imgHeight()).put("width", c.imgWidth());
                    preprocessor = p;
                }
            }
        }
        List<Path> written = new ArrayList<>();
        SafetensorsWriter.write(out, target.fromCanonical(model.model().weights().toTimmStateDict()), metadata);
        written.add(out);
        written.add(writeJson(dir.resolve("config.json"), config));
        if (preprocessor != null) {
            written.add(writeJson(dir.resolve("preprocessor_config.json"), preprocessor));
        }
        return written;
    }

    private static ObjectNode huggingFaceConfig(LoadedModel model) {
        ViTConfig c = model.model().config();
        ObjectNode j = Json.MAPPER.createObjectNode();
        j.putArray("architectures").add("ViTForImageClassification");
        j.put("model_type", "vit");
        j.put("hidden_size", c.embedDim());
        j.put("num_hidden_layers", c.depth());
        j.put("num_attention_heads", c.numHeads());
        j.put("intermediate_size", c.mlpHidden());
        j.put("hidden_act", "gelu");
        j.put("layer_norm_eps", c.layerNormEps());
        j.putArray("image_size").add(c.imgHeight()).add(c.imgWidth());
        j.put("patch_size", c.patchSize());
        j.put("num_channels", c.inChans());
        j.put("qkv_bias", c.qkvBias());
        ObjectNode id2label = j.putObject("id2label");
        ObjectNode label2id = j.putObject("label2id");
        for (int i = 0; i < model.labels().size(); i++) {
            id2label.put(Integer.toString(i), model.labels().get(i));
            label2id.put(model.labels().get(i), i);
        }
        return j;
    }

    private static ObjectNode timmConfig(LoadedModel model) {
        ViTConfig c = model.model().config();
        ObjectNode j = Json.MAPPER.createObjectNode();
        j.put("architecture", "vision_transformer");
        j.put("num_classes", c.numClasses());
        ObjectNode args = j.putObject("model_args");
        args.putArray("img_size").add(c.imgHeight()).add(c.imgWidth());
        args.put("patch_size", c.patchSize());
        args.put("in_chans", c.inChans());
        args.put("embed_dim", c.embedDim());
        args.put("depth", c.depth());
        args.put("num_heads", c.numHeads());
        args.put("mlp_ratio", (double) c.mlpHidden() / c.embedDim());
        args.put("qkv_bias", c.qkvBias());
        args.put("class_token", c.classToken());
        args.put("global_pool", c.globalPool().timmName());
        ArrayNode labels = j.putArray("label_names");
        model.labels().forEach(labels::add);
        return j;
    }

    private static ObjectNode pretrainedCfg(ViTConfig c, String interpolation) {
        ObjectNode p = Json.MAPPER.createObjectNode();
        p.putArray("input_size").add(c.inChans()).add(c.imgHeight()).add(c.imgWidth());
        p.put("interpolation", interpolation);
        p.put("crop_pct", 0.875);
        return p;
    }

    private static Path writeJson(Path file, JsonNode json) {
        try {
            byte[] bytes = Json.MAPPER.writer(SerializationFeature.INDENT_OUTPUT).writeValueAsBytes(json);
            AtomicFiles.write(file, out -> out.write(bytes));
            return file;
        } catch (IOException e) {
            throw new VitException(file + ": cannot write: " + e.getMessage(), e);
        }
    }
}
