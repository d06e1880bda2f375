package dev.vitjava.engine.cpu;

import dev.vitjava.engine.cpu.platform.CacheLines;
import dev.vitjava.engine.cpu.platform.WorkerPool;
import java.util.List;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Multi-head self-attention, one task per (image, head), on the GEMM micro-kernel: the head's keys are packed
 * into weight-like panels ({@code [key panel][head dim][NR keys]}) and its values into {@code [token][NR]}
 * panels, then for each tile of {@link Gemm#MR} query rows: scores against every key (kernel), scale and a
 * numerically stable softmax (max subtracted, float exp, one reciprocal), and the probability-weighted sum of
 * values (kernel again, with the probabilities as the A operand). Only an MR x tokens strip of scores exists at a
 * time; the (heads, T, T) probabilities are written only when a trace asks for them.
 */
final class Attention {

    private static final VectorSpecies<Float> S = VectorMath.S;
    private static final int L = VectorMath.L;
    private static final int MR = Gemm.MR;
    private static final int NR = Gemm.NR;

    /** A worker's buffers, grown on demand. */
    static final class Scratch {
        float[] keys = new float[0];
        float[] values = new float[0];
        float[] strip = new float[0];
        final float[] tile = new float[MR * NR];

        void ensure(int tokens, int headDim) {
            int keyPanels = (tokens + NR - 1) / NR;
            int valuePanels = (headDim + NR - 1) / NR;
            if (keys.length < keyPanels * headDim * NR + CacheLines.FLOATS) {
                keys = new float[keyPanels * headDim * NR + CacheLines.FLOATS];
            }
            if (values.length < valuePanels * tokens * NR + CacheLines.FLOATS) {
                values = new float[valuePanels * tokens * NR + CacheLines.FLOATS];
            }
            if (strip.length < MR * keyPanels * NR) {
                strip = new float[MR * keyPanels * NR];
            }
        }
    }

    private Attention() {
    }

    /**
     * @param qkv   (batch * tokens) rows of stride ldq: [q | k | v], each head-major; at least MR rows past the
     *              last one must exist (they are read as padding, never used)
     * @param out   (batch * tokens) rows of stride ldo; columns [0, heads * headDim) are written
     * @param probs (batch, heads, tokens, tokens) softmax probabilities, or null
     */
    static void run(WorkerPool pool, Scratch[] scratch, float[] qkv, int ldq, float[] out, int ldo, int batch,
            int tokens, int heads, int headDim, float[] probs) {
        run(pool, scratch, qkv, ldq, out, ldo, batch, tokens, tokens, heads, headDim, probs);
    }

    /** Same, for the first {@code queries} query rows of each image only (all keys and values). */
    static void run(WorkerPool pool, Scratch[] scratch, float[] qkv, int ldq, float[] out, int ldo, int batch,
            int tokens, int queries, int heads, int headDim, float[] probs) {
        for (Scratch s : scratch) {
            s.ensure(tokens, headDim);
        }
        float scale = (float) (1.0 / Math.sqrt(headDim));
        pool.run(batch * heads, (task, worker) -> head(scratch[worker], qkv, ldq, out, ldo, task / heads,
                task % heads, tokens, queries, heads, headDim, scale, probs));
    }

    static void head(Scratch s, float[] qkv, int ldq, float[] out, int ldo, int b, int h, int tokens, int queries,
            int heads, int hd, float scale, float[] probs) {
        int d = heads * hd;
        int keyPanels = (tokens + NR - 1) / NR;
        int valuePanels = (hd + NR - 1) / NR;
        int lds = keyPanels * NR;
        float[] keys = s.keys;
        float[] values = s.values;
        float[] strip = s.strip;
        float[] tile = s.tile;
        // Panels start on a cache line (looked up per head: these young arrays move at every minor GC).
        int k0 = CacheLines.offset(keys);
        int v0 = CacheLines.offset(values);
        int row0 = b * tokens;
        // Keys are transposed in L x L blocks: one token at a time would write hd cache lines per token, and the
        // key panels (hd * 4 KB) do not stay in L1.
        for (int j0 = 0; j0 < tokens; j0 += L) {
            int j1 = Math.min(tokens, j0 + L);
            int panel = k0 + (j0 / NR) * hd * NR + j0 % NR;
            for (int e0 = 0; e0 < hd; e0 += L) {
                int e1 = Math.min(hd, e0 + L);
                for (int j = j0; j < j1; j++) {
                    int src = (row0 + j) * ldq + h * hd + d;
                    int dst = panel + j - j0;
                    for (int e = e0; e < e1; e++) {
                        keys[dst + e * NR] = qkv[src + e];
                    }
                }
            }
        }
        for (int j = 0; j < tokens; j++) {
            int src = (row0 + j) * ldq + h * hd + 2 * d;
            for (int q = 0; q < valuePanels; q++) {
                int e0 = q * NR;
                System.arraycopy(qkv, src + e0, values, v0 + (q * tokens + j) * NR, Math.min(NR, hd - e0));
            }
        }
        for (int i0 = 0; i0 < queries; i0 += MR) {
            int valid = Math.min(MR, queries - i0);
            int q0 = (row0 + i0) * ldq + h * hd;
            for (int p = 0; p < keyPanels; p++) {
                Gemm.kernel(qkv, q0, ldq, keys, k0 + p * hd * NR, hd, tile);
                scaleInto(tile, scale, strip, lds, p * NR);
            }
            for (int r = 0; r < MR; r++) {
                if (r < valid) {
                    softmax(strip, r * lds, tokens);
                    if (probs != null) {
                        System.arraycopy(strip, r * lds, probs, ((b * heads + h) * tokens + i0 + r) * tokens, tokens);
                    }
                } else {
                    java.util.Arrays.fill(strip, r * lds, r * lds + tokens, 0f);
                }
            }
            for (int q = 0; q < valuePanels; q++) {
                Gemm.kernel(strip, 0, lds, values, v0 + q * tokens * NR, tokens, tile);
                int e0 = q * NR;
                int n = Math.min(NR, hd - e0);
                for (int r = 0; r < valid; r++) {
                    System.arraycopy(tile, r * NR, out, (row0 + i0 + r) * ldo + h * hd + e0, n);
                }
            }
        }
    }

    /** strip[r][col, col + NR) = scale * tile[r] for the MR rows. */
    private static void scaleInto(float[] tile, float scale, float[] strip, int lds, int col) {
        for (int r = 0; r < MR; r++) {
            for (int v = 0; v < NR; v += L) {
                FloatVector.fromArray(S, tile, r * NR + v).mul(scale).intoArray(strip, r * lds + col + v);
            }
        }
    }

    /**
     * The {@link Warmup} calls: the softmax (with a vector tail on every other call), then one attention head (64
     * dims, as in every standard ViT) over 7 tokens: 2 query tiles, one full and one partial, so every branch of
     * head() and its vector helper (scaleInto) runs before the first real pass.
     */
    static List<Warmup.Step> warmup() {
        int l = VectorMath.L;
        float[] x = Warmup.fill(new float[6 * l], 0.5f);
        float[] y = new float[6 * l];
        int[] n = new int[1];
        int hd = 64;
        int tokens = 7;
        int ldq = 3 * hd;
        float[] qkv = Warmup.fill(new float[(tokens + MR) * ldq], 0.03f);
        float[] out = new float[(tokens + MR) * hd];
        Scratch s = new Scratch();
        s.ensure(tokens, hd);
        return List.of(
                new Warmup.Step("softmax", () -> {
                    System.arraycopy(x, 0, y, 0, 6 * l);
                    softmax(y, 0, 5 * l + n[0]++ % 2 * 3);
                    Warmup.sink = y[0];
                }, 1_000, false),
                new Warmup.Step("attention", () -> head(s, qkv, ldq, out, hd, 0, 0, tokens, tokens, 1, hd, 0.125f,
                        null), 20_000, true));
    }

    /**
     * Softmax of x[off, off + n) in place. The lanes up to the next multiple of L must exist: they are set to
     * -infinity first and come out as (unused) values below 1e-37. Every loop then runs on whole vectors with a
     * single exp call site, which C2 inlines: a second, masked call site for the tail made the method too large to
     * inline exp into, and a vector passed to a call that is not inlined is boxed on the heap.
     */
    static void softmax(float[] x, int off, int n) {
        int end = (n + L - 1) / L * L;
        if (end > n) {
            int last = off + end - L;
            FloatVector.fromArray(S, x, last).blend(Float.NEGATIVE_INFINITY, S.indexInRange(end - L, n).not())
                    .intoArray(x, last);
        }
        FloatVector mx = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
        for (int j = 0; j < end; j += L) {
            FloatVector v = FloatVector.fromArray(S, x, off + j);
            mx = mx.blend(v, v.compare(VectorOperators.GT, mx));
        }
        float max = VectorMath.max(mx);
        FloatVector sum = FloatVector.zero(S);
        for (int j = 0; j < end; j += L) {
            FloatVector e = VectorMath.exp(FloatVector.fromArray(S, x, off + j).sub(max));
            e.intoArray(x, off + j);
            sum = sum.add(e);
        }
        float inv = 1f / VectorMath.sum(sum);
        for (int j = 0; j < end; j += L) {
            FloatVector.fromArray(S, x, off + j).mul(inv).intoArray(x, off + j);
        }
    }
}
