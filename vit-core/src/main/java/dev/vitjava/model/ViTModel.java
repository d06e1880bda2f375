package dev.vitjava.model;

import dev.vitjava.tensor.Tensor;

/** A ViT's architecture and parameters, ready for any engine; also owns the resampled position embeddings. */
public final class ViTModel {

    private final ViTConfig config;
    private final ViTWeights weights;
    private final PosEmbed posEmbed;

    public ViTModel(ViTConfig config, ViTWeights weights) {
        this.config = config;
        this.weights = weights;
        this.posEmbed = new PosEmbed(weights.posEmbed(), config);
    }

    public ViTConfig config() {
        return config;
    }

    public ViTWeights weights() {
        return weights;
    }

    /**
     * The position embedding (tokens, D) for a gh × gw patch grid: the trained one, or its bicubic resampling.
     */
    public Tensor posEmbed(int gh, int gw) {
        return posEmbed.forGrid(gh, gw);
    }
}
