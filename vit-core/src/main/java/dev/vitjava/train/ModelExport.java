package dev.vitjava.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.vitjava.image.Preprocessing;
import dev.vitjava.model.ViTConfig;
import java.util.List;

/**
 * The {@code config.json} of a fine-tuned model in timm's hub format: {@code architecture}, {@code model_args}
 * (every size, so timm builds this model from any ViT architecture name), {@code label_names} and a
 * {@code pretrained_cfg} holding the preprocessing the model was trained with.
 */
public final class ModelExport {

    private static final ObjectMapper JSON = new ObjectMapper();

    private ModelExport() {
    }

    /**
     * @param source the loaded model's config.json, or null: its architecture name is kept when it has one
     */
    public static ObjectNode timmConfig(ViTConfig c, boolean fcNorm, List<String> labels, Preprocessing pre,
            JsonNode source) {
        ObjectNode o = JSON.createObjectNode();
        String arch = source != null && source.path("architecture").isTextual() ? source.get("architecture").asText()
                : "vit_base_patch16_224";
        o.put("architecture", arch);
        o.put("num_classes", c.numClasses());
        o.put("num_features", c.embedDim());
        o.put("global_pool", c.globalPool().timmName());
        ArrayNode names = o.putArray("label_names");
        labels.forEach(names::add);
        ObjectNode args = o.putObject("model_args");
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
        if (fcNorm) {
            args.put("fc_norm", true);
        }
        ObjectNode cfg = o.putObject("pretrained_cfg");
        cfg.putArray("input_size").add(c.inChans()).add(c.imgHeight()).add(c.imgWidth());
        cfg.put("interpolation", pre.interpolation().id());
        cfg.put("crop_pct", cropPct(pre, c));
        cfg.put("crop_mode", pre.resize().kind() == Preprocessing.Resize.Kind.EXACT ? "squash" : "center");
        ArrayNode mean = cfg.putArray("mean");
        ArrayNode std = cfg.putArray("std");
        float[] m = pre.mean();
        float[] s = pre.std();
        for (int ch = 0; ch < c.inChans(); ch++) {
            mean.add(m == null ? 0.0 : Double.parseDouble(Float.toString(m[Math.min(ch, m.length - 1)])));
            std.add(s == null ? 1.0 : Double.parseDouble(Float.toString(s[Math.min(ch, s.length - 1)])));
        }
        cfg.put("num_classes", c.numClasses());
        cfg.put("first_conv", "patch_embed.proj");
        cfg.put("classifier", "head");
        return o;
    }

    /** timm's crop_pct for the pipeline: its own, else crop size / resize size (1 without a resize). */
    private static double cropPct(Preprocessing pre, ViTConfig c) {
        if (Double.isFinite(pre.cropPct())) {
            return pre.cropPct();
        }
        Preprocessing.Resize r = pre.resize();
        if (r.kind() == Preprocessing.Resize.Kind.SHORTEST_EDGE && r.height() > 0) {
            return (double) Math.min(c.imgHeight(), c.imgWidth()) / r.height();
        }
        return 1.0;
    }
}
