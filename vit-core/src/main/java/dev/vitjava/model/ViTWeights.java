package dev.vitjava.model;

import java.util.List;

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
