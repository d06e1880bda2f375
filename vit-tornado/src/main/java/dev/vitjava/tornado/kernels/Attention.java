package dev.vitjava.tornado.kernels;

import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.math.TornadoMath;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;
import uk.ac.manchester.tornado.api.types.collections.VectorFloat8;
import uk.ac.manchester.tornado.api.types.vectors.Float8;

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
 * {@code batch × heads × tokens} work-items, rounded up to the local size. The batch and the token count come from
 * the call's {@link Dims}; heads, head size and scale, the model's, are arguments.
 */
public final class Attention {

    /** Largest head dimension {@link #flash} handles (its per-work-item query and output rows). */
    public static final int MAX_HEAD_DIM = 128;

    private Attention() {
    }

    /** Work-items for {@link #flash}: one per query, each (image, head) rounded up to whole groups of {@code bq}. */
    public static int flashGlobal(int batch, int heads, int tokens, int bq) {
        return batch * heads * ((tokens + bq - 1) / bq) * bq;
    }

    /**
     * Flash-style attention: a work-group per (image, head, block of bq queries), a work-item per query. The group
     * stages bkv keys and values at a time in local memory; each work-item scores its query against them and folds
     * them into its output with an online softmax (running maximum m and sum l: when the maximum grows, the sum and
     * the output so far are rescaled by exp(m_old - m_new)), so the T×T scores live only in registers. qkv and out
     * as for {@link #attention}; headDim at most {@link #MAX_HEAD_DIM}. bq and bkv are the device's
     * {@link Tiles#flashQ} and {@link Tiles#flashKv} (int arguments: TornadoVM compiles them in as constants, which
     * size the local arrays). Launch with {@link #flashGlobal} work-items and a local size of bq.
     */
    public static void flash(KernelContext ctx, FloatArray qkv, FloatArray out, IntArray dims, int heads, int headDim,
            float scale, int bq, int bkv) {
        int batch = dims.get(Dims.BATCH);
        int tokens = dims.get(Dims.TOKENS);
        int blocks = (tokens + bq - 1) / bq;
        int g = ctx.groupIdx;
        // a group past the batch (a grid sized for a larger call) reads the last image and stores nothing; it still
        // meets every barrier
        int n = Math.min(g / (heads * blocks), batch - 1);
        int h = (g / blocks) % heads;
        int i = (g % blocks) * bq + ctx.localIdx;
        int dim = heads * headDim;
        int stride = 3 * dim;
        int rowBase = n * tokens * stride;
        float[] ks = ctx.allocateFloatLocalArray(bkv * headDim);
        float[] vs = ctx.allocateFloatLocalArray(bkv * headDim);
        float[] q = new float[MAX_HEAD_DIM];
        float[] acc = new float[MAX_HEAD_DIM];
        float[] s = new float[bkv];
        boolean valid = i < tokens && g < batch * heads * blocks;
        int q0 = rowBase + i * stride + h * headDim;
        for (int e = 0; e < headDim; e++) {
            q[e] = valid ? qkv.get(q0 + e) : 0.0f;
            acc[e] = 0.0f;
        }
        float m = -Float.MAX_VALUE;
        float l = 0.0f;
        for (int j0 = 0; j0 < tokens; j0 += bkv) {
            int count = Math.min(bkv, tokens - j0);
            for (int idx = ctx.localIdx; idx < count * headDim; idx += bq) {
                int j = idx / headDim;
                int e = idx % headDim;
                int src = rowBase + (j0 + j) * stride + h * headDim + e;
                ks[j * headDim + e] = qkv.get(src + dim);
                vs[j * headDim + e] = qkv.get(src + 2 * dim);
            }
            ctx.localBarrier();
            float tileMax = m;
            for (int j = 0; j < count; j++) {
                float dot = 0.0f;
                for (int e = 0; e < headDim; e++) {
                    dot += q[e] * ks[j * headDim + e];
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
                    acc[e] += p * vs[j * headDim + e];
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

    /** Keys per step of {@link #flashCpu}'s online softmax (its private score buffer). */
    public static final int CPU_KV = 32;
    /** Work-items per group of {@link #flashCpu}. */
    public static final int CPU_LOCAL = 16;
    /** Largest head dimension {@link #flashCpu} handles: its output row is eight float8 accumulators. */
    public static final int CPU_MAX_HEAD_DIM = 64;

    /**
     * Whether {@link #flashCpu} handles a head dimension: whole float8 vectors, from 16 (at 8, TornadoVM's compiler
     * fails on the kernel: "Argument is not an array") to {@link #CPU_MAX_HEAD_DIM}.
     */
    public static boolean cpuHandles(int headDim) {
        return headDim % 8 == 0 && headDim >= 16 && headDim <= CPU_MAX_HEAD_DIM;
    }

    /**
     * {@link #flash} for CPU devices (PoCL): a work-item per (image, head, query), no local memory and no barriers
     * (on a CPU, local memory is plain memory and each barrier splits the work-item loops), the same online softmax
     * over steps of {@link #CPU_KV} keys, and float8 arithmetic over the head dimension: the query and the output row
     * in eight float8 registers each, qkv read as whole float8 vectors (the qkv projection writes it so:
     * {@link MatMul#VECTORS}). Needs {@link #cpuHandles}(headDim). Launch with batch × heads × tokens work-items,
     * rounded up to the local size {@link #CPU_LOCAL}.
     */
    public static void flashCpu(KernelContext ctx, VectorFloat8 qkv, FloatArray out, IntArray dims, int heads,
            int headDim, float scale) {
        int batch = dims.get(Dims.BATCH);
        int tokens = dims.get(Dims.TOKENS);
        int gid = ctx.globalIdx;
        if (gid < batch * heads * tokens) {
            int i = gid % tokens;
            int h = (gid / tokens) % heads;
            int n = gid / (tokens * heads);
            int dim = heads * headDim;
            int stride = 3 * dim;
            // qkv in float8 vectors: a row is stride / 8 of them, a head headDim / 8
            int head0 = (n * tokens * stride + h * headDim) / 8;
            int rowVectors = stride / 8;
            float[] s = new float[CPU_KV];
            Float8 a0 = new Float8(0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f);
            Float8 a1 = new Float8(0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f);
            Float8 a2 = new Float8(0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f);
            Float8 a3 = new Float8(0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f);
            Float8 a4 = new Float8(0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f);
            Float8 a5 = new Float8(0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f);
            Float8 a6 = new Float8(0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f);
            Float8 a7 = new Float8(0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f);
            // vectors past headDim re-read the head's last one (a branch there, carrying float8 values, sends
            // TornadoVM's compiler out of memory): the query's are zeroed, so that the dot products drop them, and the
            // output's are never stored
            int last = headDim / 8 - 1;
            int qRow = head0 + i * rowVectors;
            Float8 q0 = qkv.get(qRow);
            Float8 q1 = Float8.mult(qkv.get(qRow + Math.min(1, last)), last >= 1 ? 1f : 0f);
            Float8 q2 = Float8.mult(qkv.get(qRow + Math.min(2, last)), last >= 2 ? 1f : 0f);
            Float8 q3 = Float8.mult(qkv.get(qRow + Math.min(3, last)), last >= 3 ? 1f : 0f);
            Float8 q4 = Float8.mult(qkv.get(qRow + Math.min(4, last)), last >= 4 ? 1f : 0f);
            Float8 q5 = Float8.mult(qkv.get(qRow + Math.min(5, last)), last >= 5 ? 1f : 0f);
            Float8 q6 = Float8.mult(qkv.get(qRow + Math.min(6, last)), last >= 6 ? 1f : 0f);
            Float8 q7 = Float8.mult(qkv.get(qRow + Math.min(7, last)), last >= 7 ? 1f : 0f);
            float m = -Float.MAX_VALUE;
            float l = 0.0f;
            for (int j0 = 0; j0 < tokens; j0 += CPU_KV) {
                int count = Math.min(CPU_KV, tokens - j0);
                float tileMax = m;
                for (int j = 0; j < count; j++) {
                    int k0 = head0 + (j0 + j) * rowVectors + dim / 8;
                    Float8 dot = Float8.add(
                            Float8.add(Float8.add(Float8.mult(q0, qkv.get(k0)),
                                            Float8.mult(q1, qkv.get(k0 + Math.min(1, last)))),
                                    Float8.add(Float8.mult(q2, qkv.get(k0 + Math.min(2, last))),
                                            Float8.mult(q3, qkv.get(k0 + Math.min(3, last))))),
                            Float8.add(Float8.add(Float8.mult(q4, qkv.get(k0 + Math.min(4, last))),
                                            Float8.mult(q5, qkv.get(k0 + Math.min(5, last)))),
                                    Float8.add(Float8.mult(q6, qkv.get(k0 + Math.min(6, last))),
                                            Float8.mult(q7, qkv.get(k0 + Math.min(7, last))))));
                    s[j] = Vectors.sum(dot) * scale;
                    tileMax = TornadoMath.max(tileMax, s[j]);
                }
                float correction = TornadoMath.exp(m - tileMax);
                l = l * correction;
                a0 = Float8.mult(a0, correction);
                a1 = Float8.mult(a1, correction);
                a2 = Float8.mult(a2, correction);
                a3 = Float8.mult(a3, correction);
                a4 = Float8.mult(a4, correction);
                a5 = Float8.mult(a5, correction);
                a6 = Float8.mult(a6, correction);
                a7 = Float8.mult(a7, correction);
                for (int j = 0; j < count; j++) {
                    float p = TornadoMath.exp(s[j] - tileMax);
                    l += p;
                    int v0 = head0 + (j0 + j) * rowVectors + 2 * dim / 8;
                    a0 = Float8.add(a0, Float8.mult(qkv.get(v0), p));
                    a1 = Float8.add(a1, Float8.mult(qkv.get(v0 + Math.min(1, last)), p));
                    a2 = Float8.add(a2, Float8.mult(qkv.get(v0 + Math.min(2, last)), p));
                    a3 = Float8.add(a3, Float8.mult(qkv.get(v0 + Math.min(3, last)), p));
                    a4 = Float8.add(a4, Float8.mult(qkv.get(v0 + Math.min(4, last)), p));
                    a5 = Float8.add(a5, Float8.mult(qkv.get(v0 + Math.min(5, last)), p));
                    a6 = Float8.add(a6, Float8.mult(qkv.get(v0 + Math.min(6, last)), p));
                    a7 = Float8.add(a7, Float8.mult(qkv.get(v0 + Math.min(7, last)), p));
                }
                m = tileMax;
            }
            float[] o = new float[CPU_MAX_HEAD_DIM];
            Vectors.store(o, a0, a1, a2, a3, a4, a5, a6, a7);
            int o0 = (n * tokens + i) * dim + h * headDim;
            for (int e = 0; e < headDim; e++) {
                out.set(o0 + e, o[e] / l);
            }
        }
    }

    public static void attention(KernelContext ctx, FloatArray qkv, FloatArray probs, FloatArray out, IntArray dims,
            int heads, int headDim, float scale) {
        int batch = dims.get(Dims.BATCH);
        int tokens = dims.get(Dims.TOKENS);
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
