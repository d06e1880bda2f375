package dev.vitjava.model;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** A ViT's architecture and parameters, ready for any engine; also owns the resampled position embeddings. */
public final class ViTModel {

    private final ViTConfig config;
    private final ViTWeights weights;
    private final Map<Long, Tensor> posEmbedByGrid = new ConcurrentHashMap<>();

    public ViTModel(ViTConfig config, ViTWeights weights) {
        this.config = config;
        this.weights = weights;
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
        if (gh == config.gridHeight() && gw == config.gridWidth()) {
            return weights.posEmbed().reshape(config.numTokens(), config.embedDim());
        }
        return posEmbedByGrid.computeIfAbsent(((long) gh << 32) | gw, key -> PosEmbed.resample(weights.posEmbed(),
                config.numPrefixTokens(), config.gridHeight(), config.gridWidth(), gh, gw));
    }
}
