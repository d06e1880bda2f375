package dev.vitjava.train;

import dev.vitjava.VitException;

/**
 * The stochastic regularisation of training mode, as timm's VisionTransformer has it: dropout after the position
 * embedding, after the attention projection and after both MLP layers ({@code pos_drop_rate},
 * {@code proj_drop_rate}); dropout on the attention probabilities ({@code attn_drop_rate}); stochastic depth on
 * both residual branches of block i at rate {@code dropPath * i / (depth - 1)} (timm's {@code torch.linspace(0,
 * drop_path_rate, depth)}), scaled by 1 / keep as timm's {@code scale_by_keep}.
 *
 * <p>Masks are a pure function of (seed, step, site, element): a counter-based hash, not a random stream. Every
 * backend and thread therefore draws the same masks in any order, so the reference and the cpu backend can be
 * compared with dropout on, and a resumed run repeats the masks of the run it continues.
 */
public record Regularization(double dropout, double attnDropout, double dropPath, long seed) {

    public static final Regularization NONE = new Regularization(0, 0, 0, 0);

    /** Where a mask applies; combined with the block index into a site number. */
    public enum Site { POS, ATTN, PROJ, MLP1, MLP2, PATH1, PATH2 }

    public Regularization {
        check(dropout, "--dropout");
        check(attnDropout, "--attn-dropout");
        check(dropPath, "--drop-path");
    }

    private static void check(double p, String option) {
        if (!(p >= 0 && p < 1)) {
            throw new VitException(option + " must be in [0, 1), got " + p);
        }
    }

    /** Whether any mask can drop something. */
    public boolean active() {
        return dropout > 0 || attnDropout > 0 || dropPath > 0;
    }

    /** Whether blocks [0, k) and the embedding are deterministic (so their output can be cached). */
    public boolean deterministicBelow(int k, int depth) {
        return dropout == 0 && attnDropout == 0 && (k <= 1 || dropPathRate(k - 1, depth) == 0);
    }

    /** timm's stochastic-depth rate of block {@code i} of {@code depth}. */
    public double dropPathRate(int i, int depth) {
        return depth <= 1 ? 0 : dropPath * i / (depth - 1);
    }

    /** The drop probability at a site of a block. */
    public double rate(Site site, int block, int depth) {
        return switch (site) {
            case POS, PROJ, MLP1, MLP2 -> dropout;
            case ATTN -> attnDropout;
            case PATH1, PATH2 -> dropPathRate(block, depth);
        };
    }

    /**
     * The factor for element {@code index} at a site in a step: 0 (dropped) or 1 / (1 - p) (kept); 1 when p = 0.
     * For drop path the index is the image's position in the batch.
     */
    public float scale(long step, Site site, int block, int depth, long index) {
        double p = rate(site, block, depth);
        if (p == 0) {
            return 1f;
        }
        return uniform(step, site.ordinal() + 8L * block, index) < p ? 0f : (float) (1 / (1 - p));
    }

    /** A uniform double in [0, 1) from the key. */
    double uniform(long step, long site, long index) {
        long h = mix(seed ^ 0x9E3779B97F4A7C15L);
        h = mix(h ^ step);
        h = mix(h ^ site);
        h = mix(h ^ index);
        return (h >>> 11) * 0x1.0p-53;
    }

    /** SplitMix64's finaliser. */
    private static long mix(long z) {
        z += 0x9E3779B97F4A7C15L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
