package dev.vitjava.tornado.kernels;

import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.math.TornadoMath;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;

/**
 * Multi-head self-attention, two ways. {@link #flash} is the one inference runs: the probabilities never leave the
 * work-group. {@link #attention} also writes them (batch, heads, tokens, tokens), for a trace.
 *
 * <p>{@link #attention}: one work-item per (image, head, query token) computes the scaled scores
 * against every key, a numerically stable softmax (maximum subtracted) and the probability-weighted sum of the
 * values, reading q, k and v straight from the fused qkv projection.
 *
 * <p>qkv is (batch·tokens, 3·dim) with columns [q | k | v], each head-major (head h owns columns
 * {@code h·headDim ..}); out is (batch·tokens, dim) with the heads concatenated in the same order, ready for the
 * output projection; probs is (batch, heads, tokens, tokens), the row of each query normalised to 1. The
 * probabilities double as the work-item's score buffer, so they are always written: the engine keeps one scratch
 * buffer for all blocks, or one per block (copied back) when a trace is asked for. Launch with
 * {@code batch × heads × tokens} work-items, rounded up to the local size.
 */
public final class Attention {

    /** Queries per work-group of {@link #flash} (one per work-item); also its local size. */
    public static final int BQ = 64;
    /** Keys staged in local memory per step of {@link #flash}. */
    public static final int BKV = 32;
    /** Largest head dimension {@link #flash} handles (its per-work-item query and output rows). */
    public static final int MAX_HEAD_DIM = 128;

    private Attention() {
    }

    /** Work-items for {@link #flash}: one per query, each (image, head) rounded up to whole groups. */
    public static int flashGlobal(int batch, int heads, int tokens) {
        return batch * heads * ((tokens + BQ - 1) / BQ) * BQ;
    }

    /**
     * Flash-style attention: a work-group per (image, head, block of {@link #BQ} queries), a work-item per query.
     * The group stages {@link #BKV} keys and values at a time in local memory; each work-item scores its query
     * against them and folds them into its output with an online softmax (running maximum m and sum l: when the
     * maximum grows, the sum and the output so far are rescaled by exp(m_old - m_new)), so the T×T scores live only
     * in registers. qkv and out as for {@link #attention}; headDim at most {@link #MAX_HEAD_DIM}. Launch with
     * {@link #flashGlobal} work-items and a local size of {@link #BQ}.
     */
    public static void flash(KernelContext ctx, FloatArray qkv, FloatArray out, int batch, int tokens, int heads,
            int headDim, float scale) {
        int blocks = (tokens + BQ - 1) / BQ;
        int g = ctx.groupIdx;
        int n = g / (heads * blocks);
        int h = (g / blocks) % heads;
        int i = (g % blocks) * BQ + ctx.localIdx;
        int dim = heads * headDim;
        int stride = 3 * dim;
        int rowBase = n * tokens * stride;
        float[] ks = ctx.allocateFloatLocalArray(BKV * MAX_HEAD_DIM);
        float[] vs = ctx.allocateFloatLocalArray(BKV * MAX_HEAD_DIM);
        float[] q = new float[MAX_HEAD_DIM];
        float[] acc = new float[MAX_HEAD_DIM];
        float[] s = new float[BKV];
        boolean valid = i < tokens;
        int q0 = rowBase + i * stride + h * headDim;
        for (int e = 0; e < headDim; e++) {
            q[e] = valid ? qkv.get(q0 + e) : 0.0f;
            acc[e] = 0.0f;
        }
        float m = -Float.MAX_VALUE;
        float l = 0.0f;
        for (int j0 = 0; j0 < tokens; j0 += BKV) {
            int count = Math.min(BKV, tokens - j0);
            for (int idx = ctx.localIdx; idx < count * headDim; idx += BQ) {
                int j = idx / headDim;
                int e = idx % headDim;
                int src = rowBase + (j0 + j) * stride + h * headDim + e;
                ks[j * MAX_HEAD_DIM + e] = qkv.get(src + dim);
                vs[j * MAX_HEAD_DIM + e] = qkv.get(src + 2 * dim);
            }
            ctx.localBarrier();
            float tileMax = m;
            for (int j = 0; j < count; j++) {
                float dot = 0.0f;
                for (int e = 0; e < headDim; e++) {
                    dot += q[e] * ks[j * MAX_HEAD_DIM + e];
                }
                s[j] = dot * scale;
                tileMax = TornadoMath.max(tileMax, s[j]);
            }
            float correction = TornadoMath.exp(m - tileMax);
            l = l * correction;
            for (int e = 0; e < headDim; e++) {
                acc[e] = acc[e] * correction;
            }
            for (int j = 0; j < count; j++) {
                float p = TornadoMath.exp(s[j] - tileMax);
                l += p;
                for (int e = 0; e < headDim; e++) {
                    acc[e] += p * vs[j * MAX_HEAD_DIM + e];
                }
            }
            m = tileMax;
            ctx.localBarrier();
        }
        if (valid) {
            int o0 = (n * tokens + i) * dim + h * headDim;
            for (int e = 0; e < headDim; e++) {
                out.set(o0 + e, acc[e] / l);
            }
        }
    }

    public static void attention(KernelContext ctx, FloatArray qkv, FloatArray probs, FloatArray out, int batch,
            int tokens, int heads, int headDim, float scale) {
        int gid = ctx.globalIdx;
        if (gid < batch * heads * tokens) {
            int i = gid % tokens;
            int h = (gid / tokens) % heads;
            int n = gid / (tokens * heads);
            int dim = heads * headDim;
            int stride = 3 * dim;
            int q0 = (n * tokens + i) * stride + h * headDim;
            int k0 = n * tokens * stride + dim + h * headDim;
            int v0 = n * tokens * stride + 2 * dim + h * headDim;
            int p0 = ((n * heads + h) * tokens + i) * tokens;

            float max = -Float.MAX_VALUE;
            for (int j = 0; j < tokens; j++) {
                float s = 0.0f;
                for (int e = 0; e < headDim; e++) {
                    s += qkv.get(q0 + e) * qkv.get(k0 + j * stride + e);
                }
                s = s * scale;
                probs.set(p0 + j, s);
                max = TornadoMath.max(max, s);
            }
            float sum = 0.0f;
            for (int j = 0; j < tokens; j++) {
                float p = TornadoMath.exp(probs.get(p0 + j) - max);
                probs.set(p0 + j, p);
                sum += p;
            }
            for (int j = 0; j < tokens; j++) {
                probs.set(p0 + j, probs.get(p0 + j) / sum);
            }
            int o0 = (n * tokens + i) * dim + h * headDim;
            for (int e = 0; e < headDim; e++) {
                float acc = 0.0f;
                for (int j = 0; j < tokens; j++) {
                    acc += probs.get(p0 + j) * qkv.get(v0 + j * stride + e);
                }
                out.set(o0 + e, acc);
            }
        }
    }
}
