package dev.vitjava.explain;

import dev.vitjava.VitException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Attention rollout (Abnar &amp; Zuidema 2020), with the head fusion and discard ratio of the vit-explain
 * implementation. For each block the heads' attention matrices A (T×T) are fused into one, the lowest
 * {@code floor(T · discard)} entries of each row are zeroed except the class token's column, and
 * Â = 0.5·A + 0.5·I has its rows renormalised to sum 1. With R = Â_L ⋯ Â_2 · Â_1 (the first block applied first),
 * the mask is R[0, 1:] divided by its maximum.
 *
 * <p>Only row 0 of R is needed, and e₀ᵀ·Â_L ⋯ Â_1 is a chain of vector-matrix products taken from the last block
 * down, so the blocks' Â are kept (depth × T² floats: for ViT-B at 384 pixels 16 MB, as much as one block's
 * per-head maps) instead of forming the T×T products block by block (T³ each: 2.3 GMAC for ViT-B at 384 pixels).
 */
public final class Rollout {

    private final HeadFusion fusion;
    private final double discardRatio;
    private final int tokens;
    private final List<float[]> blocks = new ArrayList<>();

    /**
     * @param tokens T, the class token first
     */
    public Rollout(HeadFusion fusion, double discardRatio, int tokens) {
        if (!(discardRatio >= 0 && discardRatio < 1)) {
            throw new VitException("--discard-ratio must be in [0, 1), not " + discardRatio);
        }
        this.fusion = fusion;
        this.discardRatio = discardRatio;
        this.tokens = tokens;
    }

    /** Adds the next block's softmax probabilities, (heads, T, T) from {@code probs[offset]}. */
    public void add(float[] probs, int offset, int heads) {
        int t = tokens;
        float[] a = new float[t * t];
        double[] row = new double[t];
        double[] sorted = new double[t];
        int discard = (int) (t * discardRatio);
        for (int i = 0; i < t; i++) {
            for (int j = 0; j < t; j++) {
                row[j] = fuse(probs, offset, heads, i, j);
            }
            if (discard > 0) {
                discardLowest(row, sorted, discard);
            }
            row[i] += 1; // 0.5·A + 0.5·I, up to the factor 0.5 that the renormalisation removes
            double sum = 0;
            for (int j = 0; j < t; j++) {
                sum += row[j];
            }
            for (int j = 0; j < t; j++) {
                a[i * t + j] = (float) (row[j] / sum);
            }
        }
        blocks.add(a);
    }

    private double fuse(float[] probs, int offset, int heads, int i, int j) {
        int t = tokens;
        double acc = fusion == HeadFusion.MEAN ? 0 : probs[offset + i * t + j];
        for (int h = 0; h < heads; h++) {
            double p = probs[offset + (h * t + i) * t + j];
            acc = switch (fusion) {
                case MEAN -> acc + p;
                case MAX -> Math.max(acc, p);
                case MIN -> Math.min(acc, p);
            };
        }
        return fusion == HeadFusion.MEAN ? acc / heads : acc;
    }

    /** Zeroes the {@code n} lowest entries of a row (ties by column), except column 0, the class token. */
    private static void discardLowest(double[] row, double[] sorted, int n) {
        System.arraycopy(row, 0, sorted, 0, row.length);
        Arrays.sort(sorted);
        double threshold = sorted[n - 1];
        int below = 0;
        for (double v : row) {
            if (v < threshold) {
                below++;
            }
        }
        int equalToDrop = n - below;
        for (int j = 0; j < row.length; j++) {
            boolean drop = row[j] < threshold || (row[j] == threshold && equalToDrop-- > 0);
            if (drop && j != 0) {
                row[j] = 0;
            }
        }
    }

    /** The rollout of the blocks added so far: R[0, 1:] / max over the patch tokens (T − 1 values). */
    public float[] mask() {
        if (blocks.isEmpty()) {
            throw new IllegalStateException("no blocks added");
        }
        int t = tokens;
        double[] v = new double[t];
        double[] next = new double[t];
        v[0] = 1;
        for (int b = blocks.size() - 1; b >= 0; b--) {
            float[] a = blocks.get(b);
            Arrays.fill(next, 0);
            for (int i = 0; i < t; i++) {
                double vi = v[i];
                if (vi != 0) {
                    for (int j = 0; j < t; j++) {
                        next[j] += vi * a[i * t + j];
                    }
                }
            }
            double[] swap = v;
            v = next;
            next = swap;
        }
        double max = 0;
        for (int j = 1; j < t; j++) {
            max = Math.max(max, v[j]);
        }
        float[] mask = new float[t - 1];
        for (int j = 1; j < t; j++) {
            mask[j - 1] = (float) (max > 0 ? v[j] / max : 0);
        }
        return mask;
    }
}
