package dev.vitjava.engine.cpu;

import dev.vitjava.engine.cpu.platform.WorkerPool;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vector kernels of the backward pass that have no forward twin: LayerNorm and GELU backward, attention backward
 * per (image, head), transposes and column sums. Like the forward kernels, each output element has one code path
 * and a fixed summation order, so gradients do not depend on the thread count.
 */
final class BackwardMath {

    private static final VectorSpecies<Float> S = VectorMath.S;
    private static final int L = VectorMath.L;
    private static final float INV_SQRT2 = 0.70710677f;
    private static final float INV_SQRT_2PI = 0.3989422804014327f;

    private BackwardMath() {
    }

    /**
     * LayerNorm backward of one row: with x̂ = (x − μ)·σ⁻¹ and g = dy·w, dx = (g − mean(g) − x̂·mean(g x̂))·σ⁻¹,
     * stored into dx (or added to it); dw += dy x̂ and db += dy unless they are null.
     */
    static void layerNorm(float[] x, int xOff, float[] dy, int dyOff, int d, float[] w, float eps, float[] dx,
            int dxOff, boolean add, float[] dw, float[] db) {
        int full = d - d % L;
        FloatVector acc = FloatVector.zero(S);
        for (int j = 0; j < full; j += L) {
            acc = acc.add(FloatVector.fromArray(S, x, xOff + j));
        }
        float sum = VectorMath.sum(acc);
        for (int j = full; j < d; j++) {
            sum += x[xOff + j];
        }
        float mean = sum / d;
        acc = FloatVector.zero(S);
        for (int j = 0; j < full; j += L) {
            FloatVector dev = FloatVector.fromArray(S, x, xOff + j).sub(mean);
            acc = dev.fma(dev, acc);
        }
        float var = VectorMath.sum(acc);
        for (int j = full; j < d; j++) {
            float dev = x[xOff + j] - mean;
            var += dev * dev;
        }
        var /= d;
        float inv = (float) (1.0 / Math.sqrt((double) var + eps));
        FloatVector sg = FloatVector.zero(S);
        FloatVector sgx = FloatVector.zero(S);
        for (int j = 0; j < full; j += L) {
            FloatVector xh = FloatVector.fromArray(S, x, xOff + j).sub(mean).mul(inv);
            FloatVector g = FloatVector.fromArray(S, dy, dyOff + j);
            FloatVector gw = g.mul(FloatVector.fromArray(S, w, j));
            sg = sg.add(gw);
            sgx = gw.fma(xh, sgx);
            if (dw != null) {
                g.fma(xh, FloatVector.fromArray(S, dw, j)).intoArray(dw, j);
                g.add(FloatVector.fromArray(S, db, j)).intoArray(db, j);
            }
        }
        float meanG = VectorMath.sum(sg);
        float meanGx = VectorMath.sum(sgx);
        for (int j = full; j < d; j++) {
            float xh = (x[xOff + j] - mean) * inv;
            float g = dy[dyOff + j];
            meanG += g * w[j];
            meanGx += g * w[j] * xh;
            if (dw != null) {
                dw[j] += g * xh;
                db[j] += g;
            }
        }
        meanG /= d;
        meanGx /= d;
        for (int j = 0; j < full; j += L) {
            FloatVector xh = FloatVector.fromArray(S, x, xOff + j).sub(mean).mul(inv);
            FloatVector gw = FloatVector.fromArray(S, dy, dyOff + j).mul(FloatVector.fromArray(S, w, j));
            FloatVector r = gw.sub(meanG).sub(xh.mul(meanGx)).mul(inv);
            if (add) {
                r = r.add(FloatVector.fromArray(S, dx, dxOff + j));
            }
            r.intoArray(dx, dxOff + j);
        }
        for (int j = full; j < d; j++) {
            float xh = (x[xOff + j] - mean) * inv;
            float r = (dy[dyOff + j] * w[j] - meanG - xh * meanGx) * inv;
            dx[dxOff + j] = add ? dx[dxOff + j] + r : r;
        }
    }

    /** g[off, off + n) *= gelu'(pre), gelu'(x) = Φ(x) + x φ(x); n a multiple of L. */
    static void geluBackward(float[] pre, float[] g, int off, int n) {
        for (int i = off; i < off + n; i += L) {
            FloatVector x = FloatVector.fromArray(S, pre, i);
            FloatVector cdf = VectorMath.erf(x.mul(INV_SQRT2)).add(1f).mul(0.5f);
            FloatVector pdf = VectorMath.exp(x.mul(x).mul(-0.5f)).mul(INV_SQRT_2PI);
            x.fma(pdf, cdf).mul(FloatVector.fromArray(S, g, i)).intoArray(g, i);
        }
    }

    /** dst (cols, rows) with row stride ldDst = transpose of src (rows, cols) with row stride ldSrc. */
    static void transpose(WorkerPool pool, float[] src, int ldSrc, int rows, int cols, float[] dst, int ldDst) {
        int block = 32;
        int colBlocks = (cols + block - 1) / block;
        pool.run(colBlocks, (task, worker) -> {
            int c0 = task * block;
            int c1 = Math.min(cols, c0 + block);
            for (int r0 = 0; r0 < rows; r0 += block) {
                int r1 = Math.min(rows, r0 + block);
                for (int c = c0; c < c1; c++) {
                    for (int r = r0; r < r1; r++) {
                        dst[c * ldDst + r] = src[r * ldSrc + c];
                    }
                }
            }
        });
    }

    /** out[j] = Σ_r m[r][j] over rows in order, for j in [0, cols). */
    static void columnSums(WorkerPool pool, float[] m, int ld, int rows, int cols, float[] out) {
        int chunks = (cols + L - 1) / L;
        pool.run(chunks, (task, worker) -> {
            int j = task * L;
            VectorMask<Float> valid = S.indexInRange(j, cols);
            FloatVector acc = FloatVector.zero(S);
            for (int r = 0; r < rows; r++) {
                acc = acc.add(FloatVector.fromArray(S, m, r * ld + j, valid));
            }
            acc.intoArray(out, j, valid);
        });
    }

    /**
     * Attention's probability-weighted values with dropped probabilities: out_i = Σ_j (P_ij m_ij) v_j for the first
     * {@code queries} queries of one (image, head), with m the attention-dropout factors
     * ({@code mask.get(i * tokens + j)}).
     */
    static void maskedValues(float[] qkv, int ldq, int row0, int vCol, float[] probs, int pOff, Mask mask,
            int queries, int tokens, int hd, float[] out, int ldo, int oCol, float[] tmp) {
        for (int i = 0; i < queries; i++) {
            java.util.Arrays.fill(tmp, 0, hd, 0f);
            for (int j = 0; j < tokens; j++) {
                float a = probs[pOff + i * tokens + j] * mask.get(i * tokens + j);
                axpy(a, qkv, (row0 + j) * ldq + vCol, tmp, 0, hd);
            }
            System.arraycopy(tmp, 0, out, (row0 + i) * ldo + oCol, hd);
        }
    }

    /** Attention-dropout factors of one (image, head), by element of its (T, T) probabilities. */
    @FunctionalInterface
    interface Mask {
        float get(int index);
    }

    /** A worker's buffers for {@link #attention}, grown on demand. */
    static final class AttentionScratch {
        private float[] valuesT = new float[0];
        private float[] keys = new float[0];
        private float[] queries = new float[0];
        private float[] grads = new float[0];
        private float[] ds = new float[0];
        private float[] dsT = new float[0];
        private float[] attT = new float[0];
        private final float[] tile = new float[MR * NR];

        void ensure(int tokens, int hd) {
            int tp = roundUp(tokens, NR);
            int rows = roundUp(tokens, MR) + MR;
            int rowPacks = roundUp(hd, NR) * tokens;
            if (valuesT.length < tp * hd) {
                valuesT = new float[tp * hd];
            }
            if (keys.length < rowPacks) {
                keys = new float[rowPacks];
                queries = new float[rowPacks];
                grads = new float[rowPacks];
            }
            if (ds.length < rows * tp) {
                ds = new float[rows * tp];
                dsT = new float[rows * tokens];
                attT = new float[rows * tokens];
            }
        }
    }

    private static final int MR = Gemm.MR;
    private static final int NR = Gemm.NR;

    private static int roundUp(int n, int m) {
        return (n + m - 1) / m * m;
    }

    /**
     * Attention backward of one (image, head) as four products on the GEMM micro-kernel: with A = P ⊙ m,
     * dP = (dO Vᵀ) ⊙ m, dS = P ⊙ (dP − rowsum(dP ⊙ P)) · scale, then dQ = dS K, dK = dSᵀ Q, dV = Aᵀ dO, written
     * into the head's q, k and v columns of dqkv. {@code mask} is null without attention dropout.
     */
    static void attention(AttentionScratch s, float[] qkv, int ldq, int row0, int h, int heads, int hd,
            float[] probs, int pOff, Mask mask, float[] dout, int ldo, float[] dqkv, int tokens, float scale) {
        int d = heads * hd;
        int q0 = h * hd;
        int k0 = d + h * hd;
        int v0 = 2 * d + h * hd;
        int tp = roundUp(tokens, NR);
        s.ensure(tokens, hd);
        float[] tile = s.tile;
        // Vᵀ in key panels [j panel][e][NR] for dO Vᵀ; K, Q and dO as row panels [e panel][t][NR].
        java.util.Arrays.fill(s.valuesT, 0, tp * hd, 0f);
        for (int j = 0; j < tokens; j++) {
            int src = (row0 + j) * ldq + v0;
            int dst = (j / NR) * hd * NR + j % NR;
            for (int e = 0; e < hd; e++) {
                s.valuesT[dst + e * NR] = qkv[src + e];
            }
        }
        packRows(qkv, ldq, row0, k0, tokens, hd, s.keys);
        packRows(qkv, ldq, row0, q0, tokens, hd, s.queries);
        packRows(dout, ldo, row0, h * hd, tokens, hd, s.grads);
        // dP, then dS in place, row by row; Aᵀ and dSᵀ for the key and value gradients
        for (int i0 = 0; i0 < tokens; i0 += MR) {
            int valid = Math.min(MR, tokens - i0);
            for (int p = 0; p < tp / NR; p++) {
                Gemm.kernel(dout, (row0 + i0) * ldo + h * hd, ldo, s.valuesT, p * hd * NR, hd, tile);
                for (int r = 0; r < valid; r++) {
                    System.arraycopy(tile, r * NR, s.ds, (i0 + r) * tp + p * NR, NR);
                }
            }
        }
        int rows = roundUp(tokens, MR);
        java.util.Arrays.fill(s.dsT, 0, rows * tokens, 0f);
        java.util.Arrays.fill(s.attT, 0, rows * tokens, 0f);
        for (int i = 0; i < tokens; i++) {
            int p = pOff + i * tokens;
            int row = i * tp;
            float dot = 0;
            for (int j = 0; j < tokens; j++) {
                float m = mask == null ? 1f : mask.get(i * tokens + j);
                float dp = s.ds[row + j] * m;
                s.ds[row + j] = dp;
                dot += dp * probs[p + j];
                s.attT[j * tokens + i] = probs[p + j] * m;
            }
            for (int j = 0; j < tokens; j++) {
                float g = probs[p + j] * (s.ds[row + j] - dot) * scale;
                s.ds[row + j] = g;
                s.dsT[j * tokens + i] = g;
            }
            java.util.Arrays.fill(s.ds, row + tokens, row + tp, 0f);
        }
        java.util.Arrays.fill(s.ds, tokens * tp, rows * tp, 0f);
        product(s.ds, tp, s.keys, tokens, hd, tile, dqkv, ldq, row0, q0);
        product(s.dsT, tokens, s.queries, tokens, hd, tile, dqkv, ldq, row0, k0);
        product(s.attT, tokens, s.grads, tokens, hd, tile, dqkv, ldq, row0, v0);
    }

    /** dst[e panel][t][NR] = src[(row0 + t) * ld + col + e], zero past hd. */
    private static void packRows(float[] src, int ld, int row0, int col, int tokens, int hd, float[] dst) {
        for (int e0 = 0; e0 < hd; e0 += NR) {
            int n = Math.min(NR, hd - e0);
            int base = (e0 / NR) * tokens * NR;
            for (int t = 0; t < tokens; t++) {
                System.arraycopy(src, (row0 + t) * ld + col + e0, dst, base + t * NR, n);
                if (n < NR) {
                    java.util.Arrays.fill(dst, base + t * NR + n, base + (t + 1) * NR, 0f);
                }
            }
        }
    }

    /** out rows [row0, row0 + tokens), columns [col, col + hd) = a (tokens x tokens, stride lda) times the row panels. */
    private static void product(float[] a, int lda, float[] panels, int tokens, int hd, float[] tile, float[] out,
            int ldo, int row0, int col) {
        for (int i0 = 0; i0 < tokens; i0 += MR) {
            int valid = Math.min(MR, tokens - i0);
            for (int e0 = 0; e0 < hd; e0 += NR) {
                Gemm.kernel(a, i0 * lda, lda, panels, (e0 / NR) * tokens * NR, tokens, tile);
                int n = Math.min(NR, hd - e0);
                for (int r = 0; r < valid; r++) {
                    System.arraycopy(tile, r * NR, out, (row0 + i0 + r) * ldo + col + e0, n);
                }
            }
        }
    }

    /** y[yOff + e] += alpha x[xOff + e], e in [0, n). */
    private static void axpy(float alpha, float[] x, int xOff, float[] y, int yOff, int n) {
        FloatVector a = FloatVector.broadcast(S, alpha);
        int e = 0;
        for (; e + L <= n; e += L) {
            FloatVector.fromArray(S, x, xOff + e).fma(a, FloatVector.fromArray(S, y, yOff + e))
                    .intoArray(y, yOff + e);
        }
        for (; e < n; e++) {
            y[yOff + e] += alpha * x[xOff + e];
        }
    }
}
