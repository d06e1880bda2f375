package dev.vitjava.checkpoint;

import dev.vitjava.VitException;
import dev.vitjava.image.Preprocessing;
import dev.vitjava.tensor.Tensor;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;

/**
 * The three published ViT key namings, each mapped onto timm's names (the canonical ones in this project), with
 * what a checkpoint in that naming implies when its config does not say: the LayerNorm eps and the
 * preprocessing. {@link Detected#sources} says which checkpoint tensors make up a canonical tensor; Hugging Face
 * stores q, k and v separately, so its fused qkv is three tensors concatenated along the output dimension.
 * A new naming is one constant here plus its key mapping.
 */
public enum Naming {
    /** timm: eps 1e-6, timm's default pretrained_cfg (bicubic, crop_pct 0.875, ImageNet mean/std). */
    TIMM("timm", 1e-6, () -> PreprocessingReader.timm(null)),
    /** Hugging Face: eps 1e-12 (ViTConfig's default), ViTImageProcessor (224 bilinear, mean = std = 0.5). */
    HUGGING_FACE("huggingface", 1e-12, () -> PreprocessingReader.huggingFace(null)),
    /** torchvision: eps 1e-6, Resize(256) / CenterCrop(224) bilinear, ImageNet mean/std. */
    TORCHVISION("torchvision", 1e-6, Preprocessing::torchvision);

    private static final String HF_PATCH = "embeddings.patch_embeddings.projection.weight";

    private final String id;
    private final double layerNormEps;
    private final Supplier<Preprocessing> preprocessing;

    Naming(String id, double layerNormEps, Supplier<Preprocessing> preprocessing) {
        this.id = id;
        this.layerNormEps = layerNormEps;
        this.preprocessing = preprocessing;
    }

    public String id() {
        return id;
    }

    /** The LayerNorm eps of this naming's models when the config does not give one. */
    public double layerNormEps() {
        return layerNormEps;
    }

    /** The preprocessing of this naming's models at their default size when no config describes it. */
    public Preprocessing defaultPreprocessing() {
        return preprocessing.get();
    }

    /** A naming by its id or a short name ("hf"), case-insensitively; null if none. */
    public static Naming byName(String name) {
        for (Naming n : values()) {
            if (n.id.equalsIgnoreCase(name) || n == HUGGING_FACE && name.equalsIgnoreCase("hf")) {
                return n;
            }
        }
        return null;
    }

    /** Detects the naming from the keys; for Hugging Face also returns the model prefix ("vit." or ""). */
    public static Detected detect(Path file, Set<String> keys) {
        if (keys.contains("patch_embed.proj.weight")) {
            return new Detected(TIMM, "");
        }
        if (keys.contains("conv_proj.weight")) {
            return new Detected(TORCHVISION, "");
        }
        for (String k : keys) {
            if (k.endsWith(HF_PATCH)) {
                return new Detected(HUGGING_FACE, k.substring(0, k.length() - HF_PATCH.length()));
            }
        }
        throw new VitException(file + ": not a ViT checkpoint: no patch-embedding weight among its " + keys.size()
                + " tensors (expected timm 'patch_embed.proj.weight', torchvision 'conv_proj.weight' or Hugging Face '"
                + "vit." + HF_PATCH + "')");
    }

    /** A detected naming and the prefix in front of Hugging Face keys. */
    public record Detected(Naming naming, String prefix) {

        /** The checkpoint tensors that make up a canonical (timm) tensor, concatenated along dimension 0. */
        public List<String> sources(String canonical) {
            return switch (naming) {
                case TIMM -> List.of(canonical);
                case TORCHVISION -> List.of(torchvision(canonical));
                case HUGGING_FACE -> huggingFace(canonical);
            };
        }

        /**
         * A canonical (timm) state dict under this naming: each tensor renamed, and split along dimension 0 where
         * the naming stores it as several (Hugging Face's q, k and v).
         */
        public Map<String, Tensor> fromCanonical(Map<String, Tensor> canonical) {
            Map<String, Tensor> out = new LinkedHashMap<>();
            canonical.forEach((name, t) -> {
                List<String> targets = sources(name);
                int rows = t.dim(0) / targets.size();
                int rowSize = t.size() / Math.max(t.dim(0), 1);
                for (int i = 0; i < targets.size(); i++) {
                    int[] shape = t.shape();
                    shape[0] = rows;
                    float[] part = new float[rows * rowSize];
                    t.data().get(i * rows * rowSize, part);
                    out.put(targets.get(i), Tensor.of(part, shape));
                }
            });
            return out;
        }

        /** Checkpoint tensors that are known and deliberately unused (the HF pooler is not part of classification). */
        public boolean isIgnorable(String key) {
            return naming == HUGGING_FACE && key.startsWith(prefix + "pooler.");
        }

        private static String torchvision(String c) {
            String[] p = c.split("\\.", 3);
            return switch (p[0]) {
                case "cls_token" -> "class_token";
                case "pos_embed" -> "encoder.pos_embedding";
                case "patch_embed" -> "conv_proj." + c.substring("patch_embed.proj.".length());
                case "norm" -> "encoder.ln." + p[1];
                case "head" -> "heads.head." + p[1];
                case "blocks" -> "encoder.layers.encoder_layer_" + p[1] + "." + torchvisionBlock(p[2]);
                default -> c;
            };
        }

        private static String torchvisionBlock(String c) {
            return switch (c) {
                case "norm1.weight" -> "ln_1.weight";
                case "norm1.bias" -> "ln_1.bias";
                case "norm2.weight" -> "ln_2.weight";
                case "norm2.bias" -> "ln_2.bias";
                case "attn.qkv.weight" -> "self_attention.in_proj_weight";
                case "attn.qkv.bias" -> "self_attention.in_proj_bias";
                case "attn.proj.weight" -> "self_attention.out_proj.weight";
                case "attn.proj.bias" -> "self_attention.out_proj.bias";
                case "mlp.fc1.weight" -> "mlp.0.weight";
                case "mlp.fc1.bias" -> "mlp.0.bias";
                case "mlp.fc2.weight" -> "mlp.3.weight";
                case "mlp.fc2.bias" -> "mlp.3.bias";
                default -> c;
            };
        }

        private List<String> huggingFace(String c) {
            String[] p = c.split("\\.", 3);
            return switch (p[0]) {
                case "cls_token" -> List.of(prefix + "embeddings.cls_token");
                case "pos_embed" -> List.of(prefix + "embeddings.position_embeddings");
                case "patch_embed" -> List.of(prefix + "embeddings.patch_embeddings.projection."
                        + c.substring("patch_embed.proj.".length()));
                case "norm" -> List.of(prefix + "layernorm." + p[1]);
                case "head" -> List.of("classifier." + p[1]);
                case "blocks" -> huggingFaceBlock(prefix + "encoder.layer." + p[1] + ".", p[2]);
                default -> List.of(c);
            };
        }

        private static List<String> huggingFaceBlock(String layer, String c) {
            int dot = c.lastIndexOf('.');
            String module = c.substring(0, dot);
            String param = c.substring(dot + 1);
            if (module.equals("attn.qkv")) {
                String attn = layer + "attention.attention.";
                return List.of(attn + "query." + param, attn + "key." + param, attn + "value." + param);
            }
            String hf = switch (module) {
                case "norm1" -> "layernorm_before";
                case "norm2" -> "layernorm_after";
                case "attn.proj" -> "attention.output.dense";
                case "mlp.fc1" -> "intermediate.dense";
                case "mlp.fc2" -> "output.dense";
                default -> module;
            };
            return List.of(layer + hf + "." + param);
        }
    }
}
