package dev.vitjava.tornado.kernels;

import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.math.TornadoMath;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;

/**
 * Fused multi-head self-attention: one work-item per (image, head, query token) computes the scaled scores
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

    private Attention() {
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
