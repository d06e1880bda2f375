package dev.vitjava.model;

import dev.vitjava.tensor.Tensor;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Resamples a learned position embedding to another patch grid exactly like PyTorch's
 * {@code F.interpolate(grid, size=(gh, gw), mode='bicubic', align_corners=False)} (no antialias), which is what
 * timm's {@code resample_abs_pos_embed} with {@code antialias=False} and Hugging Face's
 * {@code interpolate_pos_encoding} do. Prefix (class-token) rows are copied unchanged.
 *
 * <p>An instance holds a model's trained embedding and caches its resamplings, one per patch grid seen.
 */
public final class PosEmbed {

    /** PyTorch's cubic convolution coefficient (Keys); PIL uses -0.5 instead. */
    static final double A = -0.75;

    private final Tensor trained;
    private final ViTConfig c;
    private final Map<Long, Tensor> byGrid = new ConcurrentHashMap<>();

    /** @param trained the embedding of {@code c}'s trained grid, (prefix + gh * gw, D) or (1, prefix + gh * gw, D) */
    public PosEmbed(Tensor trained, ViTConfig c) {
        this.trained = trained.reshape(c.numTokens(), c.embedDim());
        this.c = c;
    }

    /** The position embedding (tokens, D) for a gh × gw patch grid: the trained one, or its bicubic resampling. */
    public Tensor forGrid(int gh, int gw) {
        if (gh == c.gridHeight() && gw == c.gridWidth()) {
            return trained;
        }
        return byGrid.computeIfAbsent(((long) gh << 32) | gw, key -> resample(trained, c.numPrefixTokens(),
                c.gridHeight(), c.gridWidth(), gh, gw));
    }

    /**
     * @param posEmbed (prefix + oldH * oldW, D), or with a leading batch dimension of 1
     * @return (prefix + newH * newW, D)
     */
    public static Tensor resample(Tensor posEmbed, int prefix, int oldH, int oldW, int newH, int newW) {
        int d = posEmbed.dim(-1);
        if (posEmbed.size() != (long) (prefix + oldH * oldW) * d) {
            throw new IllegalArgumentException("pos_embed " + posEmbed.shapeString() + " does not fit a "
                    + oldH + "x" + oldW + " grid with " + prefix + " prefix tokens");
        }
        float[] src = posEmbed.toArray();
        float[] out = new float[(prefix + newH * newW) * d];
        System.arraycopy(src, 0, out, 0, prefix * d);

        int[][] yIdx = new int[newH][];
        double[][] yW = new double[newH][];
        taps(oldH, newH, yIdx, yW);
        int[][] xIdx = new int[newW][];
        double[][] xW = new double[newW][];
        taps(oldW, newW, xIdx, xW);

        for (int oy = 0; oy < newH; oy++) {
            for (int ox = 0; ox < newW; ox++) {
                int dst = (prefix + oy * newW + ox) * d;
                for (int c = 0; c < d; c++) {
                    double acc = 0;
                    for (int i = 0; i < 4; i++) {
                        double row = 0;
                        int rowBase = prefix + yIdx[oy][i] * oldW;
                        for (int j = 0; j < 4; j++) {
                            row += xW[ox][j] * src[(rowBase + xIdx[ox][j]) * d + c];
                        }
                        acc += yW[oy][i] * row;
                    }
                    out[dst + c] = (float) acc;
                }
            }
        }
        return Tensor.of(out, prefix + newH * newW, d);
    }

    /** Source taps and weights along one axis: src = (dst + 0.5) * in / out - 0.5, taps floor(src)-1..+2 clamped. */
    private static void taps(int in, int out, int[][] idx, double[][] weights) {
        // PyTorch computes the scale in the input's accumulate type (float for float32 tensors).
        float scale = (float) in / out;
        for (int o = 0; o < out; o++) {
            float src = scale * (o + 0.5f) - 0.5f;
            int base = (int) Math.floor(src);
            double t = src - base;
            idx[o] = new int[4];
            for (int i = 0; i < 4; i++) {
                idx[o][i] = Math.min(Math.max(base - 1 + i, 0), in - 1);
            }
            weights[o] = new double[] {
                cubic2(t + 1), cubic1(t), cubic1(1 - t), cubic2(2 - t)
            };
        }
    }

    /** Keys' kernel for |x| <= 1. */
    private static double cubic1(double x) {
        return ((A + 2) * x - (A + 3)) * x * x + 1;
    }

    /** Keys' kernel for 1 < |x| < 2. */
    private static double cubic2(double x) {
        return ((A * x - 5 * A) * x + 8 * A) * x - 4 * A;
    }
}
