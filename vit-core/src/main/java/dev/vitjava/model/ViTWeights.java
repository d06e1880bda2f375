package dev.vitjava.model;

import dev.vitjava.tensor.Tensor;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * All parameters of a ViT in timm's layout, whatever naming the checkpoint used. Linear weights are
 * (out, in) row-major as in PyTorch; the fused qkv projection has rows [q | k | v], each head-major.
 *
 * @param patchEmbed  the stride-{@code patch} convolution: weight (D, C, p, p), bias (D)
 * @param clsToken    (D), or null without a class token
 * @param posEmbed    (prefix + gh * gw, D) for the trained grid
 * @param blocks      the transformer blocks in order
 * @param norm        final LayerNorm over all tokens, or null when timm puts it after pooling ({@code fc_norm})
 * @param fcNorm      LayerNorm after average pooling, or null
 * @param head        classifier (classes, D)
 */
public record ViTWeights(
        Linear patchEmbed,
        Tensor clsToken,
        Tensor posEmbed,
        List<Block> blocks,
        Norm norm,
        Norm fcNorm,
        Linear head) {

    public ViTWeights {
        blocks = List.copyOf(blocks);
    }

    /** A LayerNorm's affine parameters. */
    public record Norm(Tensor weight, Tensor bias) {
    }

    /** A linear (or convolution) layer: weight (out, ...) and bias (out), or a null bias. */
    public record Linear(Tensor weight, Tensor bias) {
        public int outFeatures() {
            return weight.dim(0);
        }

        public int inFeatures() {
            return weight.size() / weight.dim(0);
        }
    }

    /** One pre-norm transformer block: x += attn(norm1(x)); x += mlp(norm2(x)). */
    public record Block(Norm norm1, Linear qkv, Linear proj, Norm norm2, Linear fc1, Linear fc2) {
    }

    /** The tensors under timm's state-dict names and shapes, in timm's order (e.g. to save as safetensors). */
    public Map<String, Tensor> toTimmStateDict() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        if (clsToken != null) {
            out.put("cls_token", clsToken.reshape(1, 1, clsToken.size()));
        }
        out.put("pos_embed", posEmbed.reshape(1, posEmbed.dim(0), posEmbed.dim(1)));
        put(out, "patch_embed.proj", patchEmbed);
        for (int i = 0; i < blocks.size(); i++) {
            Block b = blocks.get(i);
            String p = "blocks." + i + ".";
            put(out, p + "norm1", b.norm1);
            put(out, p + "attn.qkv", b.qkv);
            put(out, p + "attn.proj", b.proj);
            put(out, p + "norm2", b.norm2);
            put(out, p + "mlp.fc1", b.fc1);
            put(out, p + "mlp.fc2", b.fc2);
        }
        put(out, "norm", norm);
        put(out, "fc_norm", fcNorm);
        put(out, "head", head);
        return out;
    }

    private static void put(Map<String, Tensor> out, String name, Norm n) {
        if (n != null) {
            out.put(name + ".weight", n.weight);
            out.put(name + ".bias", n.bias);
        }
    }

    private static void put(Map<String, Tensor> out, String name, Linear l) {
        out.put(name + ".weight", l.weight);
        if (l.bias != null) {
            out.put(name + ".bias", l.bias);
        }
    }

    /** Number of scalars in all tensors. */
    public long parameterCount() {
        long n = size(patchEmbed) + size(clsToken) + size(posEmbed) + size(norm) + size(fcNorm) + size(head);
        for (Block b : blocks) {
            n += size(b.norm1) + size(b.qkv) + size(b.proj) + size(b.norm2) + size(b.fc1) + size(b.fc2);
        }
        return n;
    }

    private static long size(Tensor t) {
        return t == null ? 0 : t.size();
    }

    private static long size(Norm n) {
        return n == null ? 0 : size(n.weight) + size(n.bias);
    }

    private static long size(Linear l) {
        return size(l.weight) + size(l.bias);
    }
}
