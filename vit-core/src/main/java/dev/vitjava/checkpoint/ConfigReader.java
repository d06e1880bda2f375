package dev.vitjava.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import dev.vitjava.VitException;
import dev.vitjava.model.StandardArchitectures;
import dev.vitjava.model.ViTConfig;
import dev.vitjava.model.ViTConfig.GlobalPool;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Iterator;
import java.util.Set;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * Builds a {@link ViTConfig} from a Hugging Face {@code config.json}, a timm hub {@code config.json}
 * ({@code architecture}, {@code model_args}, {@code pretrained_cfg}), or, for a bare checkpoint, from the tensor
 * shapes plus the table of standard sizes. The class count always comes from the classifier's shape; the
 * weight mapper then checks every tensor against the config.
 */
final class ConfigReader {

    /** timm model_args that do not change the inference graph. */
    private static final Set<String> TIMM_INERT_ARGS = Set.of("num_classes", "global_pool", "drop_rate",
            "pos_drop_rate", "patch_drop_rate", "proj_drop_rate", "attn_drop_rate", "drop_path_rate", "weight_init",
            "dynamic_img_size", "dynamic_img_pad", "img_size", "patch_size", "in_chans", "embed_dim", "depth",
            "num_heads", "mlp_ratio", "qkv_bias", "class_token", "fc_norm");

    private ConfigReader() {
    }

    /** Shape of a canonical tensor in the checkpoint, or null when absent. */
    interface Shapes extends Function<String, int[]> {
    }

    static ViTConfig fromJson(Path file, JsonNode json, Naming naming, Shapes shapes) {
        if (!json.isObject()) {
            throw new VitException(file + ": config is not a JSON object");
        }
        if (json.has("model_type") || json.has("hidden_size")) {
            return fromHuggingFace(file, json, shapes);
        }
        if (json.has("architecture") || json.has("model_args")) {
            return fromTimm(file, json, naming, shapes);
        }
        throw new VitException(file + ": not a Hugging Face (model_type, hidden_size) or timm (architecture, "
                + "model_args) config");
    }

    private static ViTConfig fromHuggingFace(Path file, JsonNode j, Shapes shapes) {
        String type = textField(file, j, "model_type", "vit");
        if (!type.equals("vit")) {
            throw new VitException(file + ": model_type '" + Checkpoints.shown(type) + "' is not supported (only 'vit')");
        }
        String act = textField(file, j, "hidden_act", "gelu");
        if (!act.equals("gelu")) {
            throw new VitException(file + ": hidden_act '" + Checkpoints.shown(act) + "' is not supported (only exact 'gelu')");
        }
        int[] img = size(file, j.get("image_size"), 224, "image_size");
        int dim = intField(file, j, "hidden_size", 768);
        return build(file, img[0], img[1],
                intField(file, j, "patch_size", 16),
                intField(file, j, "num_channels", 3),
                numClasses(file, shapes),
                dim,
                intField(file, j, "num_hidden_layers", 12),
                intField(file, j, "num_attention_heads", 12),
                intField(file, j, "intermediate_size", 3072),
                boolField(file, j, "qkv_bias", true),
                doubleField(file, j, "layer_norm_eps", Naming.HUGGING_FACE.layerNormEps()),
                true, GlobalPool.TOKEN);
    }

    private static ViTConfig fromTimm(Path file, JsonNode j, Naming naming, Shapes shapes) {
        JsonNode args = j.path("model_args");
        String arch = textField(file, j, "architecture", "");
        ViTConfig base = StandardArchitectures.byName(arch, numClasses(file, shapes)).orElse(null);
        if (base == null && !args.isObject()) {
            throw new VitException(file + ": architecture '" + Checkpoints.shown(arch) + "' is not a standard ViT and the config has no "
                    + "model_args to build it from");
        }
        if (args.isObject()) {
            for (Iterator<String> it = args.fieldNames(); it.hasNext(); ) {
                String name = it.next();
                if (!TIMM_INERT_ARGS.contains(name)) {
                    throw new VitException(file + ": model_args." + name + " is not supported by this ViT");
                }
            }
        }
        JsonNode inputSize = j.path("pretrained_cfg").path("input_size");
        int[] defaultImg = base != null ? new int[] {base.imgHeight(), base.imgWidth()}
                : inputSize.isArray() && inputSize.size() == 3
                        ? new int[] {inputSize.get(1).asInt(), inputSize.get(2).asInt()} : null;
        int[] img = args.has("img_size") || defaultImg == null
                ? size(file, args.get("img_size"), 224, "model_args.img_size") : defaultImg;
        int dim = intField(file, args, "embed_dim", base != null ? base.embedDim() : 768);
        double mlpRatio = doubleField(file, args, "model_args.mlp_ratio", 4.0);
        if (!(mlpRatio > 0 && mlpRatio <= 64)) {
            throw new VitException(file + ": model_args.mlp_ratio must be in (0, 64], not " + mlpRatio);
        }
        boolean classToken = boolField(file, args, "model_args.class_token", true);
        String pool = textField(file, args, "model_args.global_pool",
                textField(file, j, "global_pool", classToken ? "token" : "avg"));
        return build(file, img[0], img[1],
                intField(file, args, "patch_size", base != null ? base.patchSize() : 16),
                intField(file, args, "in_chans", base != null ? base.inChans() : 3),
                numClasses(file, shapes),
                dim,
                intField(file, args, "depth", base != null ? base.depth() : 12),
                intField(file, args, "num_heads", base != null ? base.numHeads() : 12),
                (int) Math.round(dim * mlpRatio),
                boolField(file, args, "model_args.qkv_bias", true),
                naming.layerNormEps(),
                classToken, GlobalPool.parse(pool));
    }

    /** A bare checkpoint: every dimension from the shapes, the head count from the standard sizes. */
    static ViTConfig fromShapes(Path file, Naming naming, Shapes shapes, int numHeads) {
        int[] patch = shapes.apply("patch_embed.proj.weight");
        int[] pos = shapes.apply("pos_embed");
        int[] fc1 = shapes.apply("blocks.0.mlp.fc1.weight");
        if (patch == null || pos == null || fc1 == null) {
            throw new VitException(file + ": cannot infer the architecture: missing the patch embedding, pos_embed or"
                    + " block 0 MLP weights");
        }
        // the weight mapper checks every shape against the config; these are the ones the config is read from
        if (patch.length != 4 || patch[2] != patch[3] || pos.length < 2 || pos.length > 3 || fc1.length != 2) {
            throw new VitException(file + ": cannot infer the architecture from the shapes of the patch embedding "
                    + Arrays.toString(patch) + ", pos_embed " + Arrays.toString(pos) + " and block 0 fc1 "
                    + Arrays.toString(fc1) + " (expected (D, C, p, p), (1, T, D) and (hidden, D))");
        }
        int dim = patch[0];
        int depth = 0;
        while (shapes.apply("blocks." + depth + ".norm1.weight") != null) {
            depth++;
        }
        boolean classToken = shapes.apply("cls_token") != null;
        int prefix = classToken ? 1 : 0;
        int gridTokens = pos[pos.length - 2] - prefix;
        int side = (int) Math.round(Math.sqrt(gridTokens));
        if (side * side != gridTokens) {
            throw new VitException(file + ": pos_embed has " + gridTokens + " patch positions, not a square grid; "
                    + "give the image size in a config.json (--config)");
        }
        int heads = numHeads > 0 ? numHeads : StandardArchitectures.headsForEmbedDim(dim).orElseThrow(() ->
                new VitException(file + ": embed dim " + dim + " is not a standard ViT width, so the number of heads "
                        + "is unknown; give --num-heads or a config.json (--config)"));
        boolean fcNorm = shapes.apply("fc_norm.weight") != null;
        return build(file, side * patch[2], side * patch[3], patch[2], patch[1], numClasses(file, shapes), dim, depth,
                heads, fc1[0], shapes.apply("blocks.0.attn.qkv.bias") != null,
                naming.layerNormEps(), classToken,
                fcNorm ? GlobalPool.AVG : GlobalPool.TOKEN);
    }

    private static ViTConfig build(Path file, int h, int w, int patch, int chans, int classes, int dim, int depth,
            int heads, int mlp, boolean qkvBias, double eps, boolean classToken, GlobalPool pool) {
        try {
            return new ViTConfig(h, w, patch, chans, classes, dim, depth, heads, mlp, qkvBias, eps, classToken, pool);
        } catch (VitException e) {
            throw new VitException(file + ": " + e.getMessage());
        }
    }

    private static int numClasses(Path file, Shapes shapes) {
        int[] head = shapes.apply("head.weight");
        if (head == null || head.length != 2) {
            throw new VitException(file + ": no classifier head in the checkpoint (feature-only models are not "
                    + "supported)");
        }
        return head[0];
    }

    /**
     * The JSON field {@code name} (its last dotted part; the whole name is what errors show) of {@code node}, or
     * null when absent or null; refused unless {@code ok}.
     */
    private static JsonNode field(Path file, JsonNode node, String name, Predicate<JsonNode> ok, String expected) {
        JsonNode v = node.get(name.substring(name.lastIndexOf('.') + 1));
        if (v == null || v.isNull()) {
            return null;
        }
        if (!ok.test(v)) {
            throw new VitException(file + ": " + name + " must be " + expected + ", not " + v);
        }
        return v;
    }

    private static double doubleField(Path file, JsonNode node, String name, double fallback) {
        JsonNode v = field(file, node, name, n -> n.isNumber() && Double.isFinite(n.asDouble()), "a finite number");
        return v == null ? fallback : v.asDouble();
    }

    private static boolean boolField(Path file, JsonNode node, String name, boolean fallback) {
        JsonNode v = field(file, node, name, JsonNode::isBoolean, "true or false");
        return v == null ? fallback : v.asBoolean();
    }

    private static String textField(Path file, JsonNode node, String name, String fallback) {
        JsonNode v = field(file, node, name, JsonNode::isTextual, "a string");
        return v == null ? fallback : v.asText();
    }

    private static int intField(Path file, JsonNode node, String name, int fallback) {
        JsonNode v = field(file, node, name, n -> n.isIntegralNumber() && n.canConvertToInt(), "an integer");
        return v == null ? fallback : v.asInt();
    }

    /** An int or a [height, width] pair. */
    private static int[] size(Path file, JsonNode v, int fallback, String name) {
        if (v == null || v.isNull()) {
            return new int[] {fallback, fallback};
        }
        if (v.isIntegralNumber()) {
            return new int[] {v.asInt(), v.asInt()};
        }
        if (v.isArray() && v.size() == 2 && v.get(0).isIntegralNumber() && v.get(1).isIntegralNumber()) {
            return new int[] {v.get(0).asInt(), v.get(1).asInt()};
        }
        throw new VitException(file + ": " + name + " must be an integer or [height, width], not " + v);
    }
}
