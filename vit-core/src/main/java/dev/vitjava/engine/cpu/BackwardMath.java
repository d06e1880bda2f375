package dev.vitjava.engine.cpu;

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
     * Attention's probability-weighted values with dropped probabilities: out_i = Σ_j (P_ij m_ij) v_j for one
     * (image, head), with m the attention-dropout factors ({@code mask.get(i * tokens + j)}).
     */
    static void maskedValues(float[] qkv, int ldq, int row0, int vCol, float[] probs, int pOff, Mask mask,
            int tokens, int hd, float[] out, int ldo, int oCol, float[] tmp) {
        for (int i = 0; i < tokens; i++) {
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

    /**
     * Attention backward of one (image, head): with A = P ⊙ m, dV = Aᵀ dO, dP = (dO Vᵀ) ⊙ m,
     * dS = P ⊙ (dP − rowsum(dP ⊙ P)) · scale, dQ = dS K, dK = dSᵀ Q, written into the head's q, k and v columns
     * of dqkv. {@code mask} is null without attention dropout.
     */
    static void attention(float[] qkv, int ldq, int row0, int h, int heads, int hd, float[] probs, int pOff,
            Mask mask, float[] dout, int ldo, float[] dqkv, int tokens, float scale, float[] ds) {
        int d = heads * hd;
        int q0 = h * hd;
        int k0 = d + h * hd;
        int v0 = 2 * d + h * hd;
        for (int j = 0; j < tokens; j++) {
            int r = (row0 + j) * ldq;
            java.util.Arrays.fill(dqkv, r + k0, r + k0 + hd, 0f);
            java.util.Arrays.fill(dqkv, r + v0, r + v0 + hd, 0f);
        }
        for (int i = 0; i < tokens; i++) {
            int oi = (row0 + i) * ldo + h * hd;
            int p = pOff + i * tokens;
            float dot = 0;
            for (int j = 0; j < tokens; j++) {
                float m = mask == null ? 1f : mask.get(i * tokens + j);
                float dp = dotProduct(dout, oi, qkv, (row0 + j) * ldq + v0, hd) * m;
                ds[j] = dp;
                dot += dp * probs[p + j];
                axpy(probs[p + j] * m, dout, oi, dqkv, (row0 + j) * ldq + v0, hd);
            }
            int qi = (row0 + i) * ldq + q0;
            java.util.Arrays.fill(dqkv, qi, qi + hd, 0f);
            for (int j = 0; j < tokens; j++) {
                float s = probs[p + j] * (ds[j] - dot) * scale;
                axpy(s, qkv, (row0 + j) * ldq + k0, dqkv, qi, hd);
                axpy(s, qkv, qi, dqkv, (row0 + j) * ldq + k0, hd);
            }
        }
    }

    /** Σ_e a[aOff + e] b[bOff + e], e in [0, n). */
    private static float dotProduct(float[] a, int aOff, float[] b, int bOff, int n) {
        FloatVector acc = FloatVector.zero(S);
        int e = 0;
        for (; e + L <= n; e += L) {
            acc = FloatVector.fromArray(S, a, aOff + e).fma(FloatVector.fromArray(S, b, bOff + e), acc);
        }
        float s = VectorMath.sum(acc);
        for (; e < n; e++) {
            s += a[aOff + e] * b[bOff + e];
        }
        return s;
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
