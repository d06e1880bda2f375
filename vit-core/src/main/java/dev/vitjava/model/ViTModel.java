package dev.vitjava.model;

import dev.vitjava.VitException;
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

    /** Patch grid (rows, columns) for an input of the given size; sides must be multiples of the patch size. */
    public int[] grid(int height, int width) {
        int p = config.patchSize();
        if (height <= 0 || width <= 0 || height % p != 0 || width % p != 0) {
            throw new VitException("input size " + height + "x" + width + " is not a multiple of the patch size " + p);
        }
        return new int[] {height / p, width / p};
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
