package dev.vitjava.model;

import dev.vitjava.VitException;

/**
 * The architecture of a Vision Transformer, with timm's names and meanings.
 *
 * @param imgHeight   trained input height in pixels (timm {@code img_size[0]})
 * @param imgWidth    trained input width in pixels (timm {@code img_size[1]})
 * @param patchSize   side of the square patches, also the stride of the patch-embedding convolution
 * @param inChans     input channels (3 for RGB, 1 for grayscale)
 * @param numClasses  classifier outputs
 * @param embedDim    token width D
 * @param depth       number of transformer blocks
 * @param numHeads    attention heads per block; D must divide evenly
 * @param mlpHidden   hidden width of the MLP (timm {@code mlp_ratio * embed_dim})
 * @param qkvBias     whether the fused qkv projection has a bias
 * @param layerNormEps epsilon inside the LayerNorm square root
 * @param classToken  whether a class token is prepended to the patch tokens
 * @param globalPool  how the head input is pooled from the final tokens
 */
public record ViTConfig(
        int imgHeight,
        int imgWidth,
        int patchSize,
        int inChans,
        int numClasses,
        int embedDim,
        int depth,
        int numHeads,
        int mlpHidden,
        boolean qkvBias,
        double layerNormEps,
        boolean classToken,
        GlobalPool globalPool) {

    /** timm's {@code global_pool}: the class token, or the mean of the patch tokens. */
    public enum GlobalPool {
        TOKEN, AVG;

        public static GlobalPool parse(String s) {
            return switch (s) {
                case "token" -> TOKEN;
                case "avg" -> AVG;
                default -> throw new VitException("unsupported global_pool '" + s + "' (supported: token, avg)");
            };
        }

        public String timmName() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    public ViTConfig {
        require(imgHeight > 0 && imgWidth > 0, "image size must be positive");
        require(patchSize > 0, "patch_size must be positive");
        require(imgHeight % patchSize == 0 && imgWidth % patchSize == 0,
                "image size " + imgHeight + "x" + imgWidth + " is not a multiple of patch_size " + patchSize);
        require(inChans > 0, "in_chans must be positive");
        require(numClasses > 0, "num_classes must be positive");
        require(embedDim > 0 && depth > 0 && mlpHidden > 0, "embed_dim, depth and the MLP width must be positive");
        require(numHeads > 0 && embedDim % numHeads == 0,
                "embed_dim " + embedDim + " is not divisible by num_heads " + numHeads);
        require(layerNormEps > 0, "layer norm eps must be positive");
        require(classToken || globalPool == GlobalPool.AVG, "global_pool 'token' needs a class token");
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new VitException("invalid ViT config: " + message);
        }
    }

    public int headDim() {
        return embedDim / numHeads;
    }

    /** Tokens in front of the patch tokens (the class token, if any). */
    public int numPrefixTokens() {
        return classToken ? 1 : 0;
    }

    public int gridHeight() {
        return imgHeight / patchSize;
    }

    public int gridWidth() {
        return imgWidth / patchSize;
    }

    /** Tokens of the trained input size. */
    public int numTokens() {
        return numPrefixTokens() + gridHeight() * gridWidth();
    }
}
