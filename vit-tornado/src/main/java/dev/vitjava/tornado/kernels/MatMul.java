package dev.vitjava.tornado.kernels;

import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.HalfFloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;

/**
 * Linear layers {@code y = x Wᵀ + b} as a register-tiled matrix multiply, with the epilogues a ViT needs fused in:
 * the bias always, then the exact GELU (fc1) or a residual add (proj, fc2).
 *
 * <p>x is (rows, in) row-major; W is (out, in) row-major as PyTorch stores it, so both operands are read along
 * their contiguous dimension. A work-group of {@link #TX}×{@link #TY} work-items computes a {@link #BN}-feature by
 * {@link #BM}-row block of y; each work-item holds 4×4 outputs in registers, at rows
 * {@code ty + i·TY} and features {@code tx + j·TX}, so that neighbouring work-items read neighbouring local-memory
 * words (no bank conflicts) and write neighbouring outputs (coalesced). Per step of {@link #BK} along {@code in}
 * the group stages a BK×BM slice of x and a BK×BN slice of W in local memory, transposed to k-major with rows
 * padded by one word (the transposing stores then hit distinct banks), zero outside the matrices so that no shape
 * needs to divide the tiles. Every product accumulates in float32, also for half-precision weights.
 *
 * <p>One kernel serves every linear layer of every block: the weights of all blocks lie concatenated in one array
 * and {@code layer[0]} (on the device, set before each block) selects the block's slice; the sizes are arguments,
 * so a model compiles each task once, whatever its depth. Launch with {@link #globalX}×{@link #globalY} work-items
 * and a TX×TY local size.
 */
public final class MatMul {

    /** Work-items per group along the features (dimension 0) and along the rows (dimension 1). */
    public static final int TX = 16;
    public static final int TY = 16;
    /** Rows (of x) per work-group tile: 4 per work-item. */
    public static final int BM = 4 * TY;
    /** Output features per work-group tile: 4 per work-item. */
    public static final int BN = 4 * TX;
    /** Depth of one local-memory step along {@code in}. */
    public static final int BK = 16;
    /** Padded length of a k-row of a staged slice. */
    private static final int LM = BM + 1;
    private static final int LN = BN + 1;

    /** Epilogues. */
    public static final int BIAS = 0;
    public static final int GELU = 1;
    public static final int RESIDUAL = 2;

    private MatMul() {
    }

    /** Work-items along dimension 0 for {@code out} features. */
    public static int globalX(int out) {
        return (out + BN - 1) / BN * TX;
    }

    /** Work-items along dimension 1 for {@code rows} rows. */
    public static int globalY(int rows) {
        return (rows + BM - 1) / BM * TY;
    }

    /**
     * y = epilogue(x Wᵀ + b) with W and b the {@code layer[0]}-th slices of w and bias: {@link #BIAS} as is,
     * {@link #GELU} the exact GELU of it, {@link #RESIDUAL} residual + it (residual and y distinct buffers; with
     * the other epilogues residual is not read).
     */
    public static void linear(KernelContext ctx, FloatArray x, FloatArray w, FloatArray bias, FloatArray residual,
            FloatArray y, IntArray layer, int rows, int out, int in, int epilogue) {
        int tx = ctx.localIdx;
        int ty = ctx.localIdy;
        int tid = ty * TX + tx;
        int row0 = ctx.groupIdy * BM;
        int col0 = ctx.groupIdx * BN;
        int wBase = layer.get(0) * out * in;
        float[] xs = ctx.allocateFloatLocalArray(BK * LM);
        float[] ws = ctx.allocateFloatLocalArray(BK * LN);
        // the 4×4 outputs as scalars, not a private array: TornadoVM's PTX backend keeps private arrays in local
        // (off-chip) memory, where every += was a load and a store (the array form ran ViT-B/16 on an H200 at
        // 1.4 TFLOP/s)
        float c00 = 0.0f, c01 = 0.0f, c02 = 0.0f, c03 = 0.0f;
        float c10 = 0.0f, c11 = 0.0f, c12 = 0.0f, c13 = 0.0f;
        float c20 = 0.0f, c21 = 0.0f, c22 = 0.0f, c23 = 0.0f;
        float c30 = 0.0f, c31 = 0.0f, c32 = 0.0f, c33 = 0.0f;
        for (int k0 = 0; k0 < in; k0 += BK) {
            // consecutive work-items load consecutive k of one row (coalesced), stored transposed
            for (int e = tid; e < BM * BK; e += TX * TY) {
                int r = e / BK;
                int k = e % BK;
                int gr = row0 + r;
                int gk = k0 + k;
                xs[k * LM + r] = (gr < rows && gk < in) ? x.get(gr * in + gk) : 0.0f;
                int gc = col0 + r;
                ws[k * LN + r] = (gc < out && gk < in) ? w.get(wBase + gc * in + gk) : 0.0f;
            }
            ctx.localBarrier();
            // c[i][j] += Σ_k xs[k][ty + i·TY] · ws[k][tx + j·TX] (written out here: TornadoVM mis-addresses local
            // arrays passed to a helper method)
            for (int k = 0; k < BK; k++) {
                int xk = k * LM + ty;
                int wk = k * LN + tx;
                float a0 = xs[xk];
                float a1 = xs[xk + TY];
                float a2 = xs[xk + 2 * TY];
                float a3 = xs[xk + 3 * TY];
                float b0 = ws[wk];
                float b1 = ws[wk + TX];
                float b2 = ws[wk + 2 * TX];
                float b3 = ws[wk + 3 * TX];
                c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
                c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
                c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
                c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
            }
            ctx.localBarrier();
        }
        int biasBase = layer.get(0) * out;
        int r0 = row0 + ty;
        int r1 = r0 + TY;
        int r2 = r0 + 2 * TY;
        int r3 = r0 + 3 * TY;
        int f0 = col0 + tx;
        int f1 = f0 + TX;
        int f2 = f0 + 2 * TX;
        int f3 = f0 + 3 * TX;
        put(c00, bias, residual, y, biasBase, rows, out, r0, f0, epilogue);
        put(c01, bias, residual, y, biasBase, rows, out, r0, f1, epilogue);
        put(c02, bias, residual, y, biasBase, rows, out, r0, f2, epilogue);
        put(c03, bias, residual, y, biasBase, rows, out, r0, f3, epilogue);
        put(c10, bias, residual, y, biasBase, rows, out, r1, f0, epilogue);
        put(c11, bias, residual, y, biasBase, rows, out, r1, f1, epilogue);
        put(c12, bias, residual, y, biasBase, rows, out, r1, f2, epilogue);
        put(c13, bias, residual, y, biasBase, rows, out, r1, f3, epilogue);
        put(c20, bias, residual, y, biasBase, rows, out, r2, f0, epilogue);
        put(c21, bias, residual, y, biasBase, rows, out, r2, f1, epilogue);
        put(c22, bias, residual, y, biasBase, rows, out, r2, f2, epilogue);
        put(c23, bias, residual, y, biasBase, rows, out, r2, f3, epilogue);
        put(c30, bias, residual, y, biasBase, rows, out, r3, f0, epilogue);
        put(c31, bias, residual, y, biasBase, rows, out, r3, f1, epilogue);
        put(c32, bias, residual, y, biasBase, rows, out, r3, f2, epilogue);
        put(c33, bias, residual, y, biasBase, rows, out, r3, f3, epilogue);
    }

    /** Rows per work-item of {@link #linearCpu}. */
    public static final int CPU_ROWS = 8;
    /** Work-items per group of {@link #linearCpu} (features). */
    public static final int CPU_LOCAL = 64;

    /**
     * {@link #linear} for CPU devices: no local memory and no barriers (on a CPU, OpenCL local memory is plain memory
     * and each barrier splits the work-item loops), W stored transposed, (layers·in, out), so that consecutive
     * work-items (consecutive features) read consecutive words and the OpenCL compiler can turn the loop over
     * work-items into vector loads and FMAs. A work-item computes one feature for {@link #CPU_ROWS} rows; launch
     * with (out rounded up to {@link #CPU_LOCAL}) × ⌈rows / CPU_ROWS⌉ work-items and a CPU_LOCAL × 1 local size.
     */
    public static void linearCpu(KernelContext ctx, FloatArray x, FloatArray wt, FloatArray bias,
            FloatArray residual, FloatArray y, IntArray layer, int rows, int out, int in, int epilogue) {
        int col = ctx.globalIdx;
        int row0 = ctx.globalIdy * CPU_ROWS;
        if (col < out) {
            int wBase = layer.get(0) * in * out;
            float[] acc = new float[CPU_ROWS];
            int[] xRow = new int[CPU_ROWS];
            for (int i = 0; i < CPU_ROWS; i++) {
                acc[i] = 0.0f;
                // rows past the end read the last row (their results are not stored): no test in the k loop
                xRow[i] = Math.min(row0 + i, rows - 1) * in;
            }
            for (int k = 0; k < in; k++) {
                float wv = wt.get(wBase + k * out + col);
                for (int i = 0; i < CPU_ROWS; i++) {
                    acc[i] += x.get(xRow[i] + k) * wv;
                }
            }
            float b = bias.get(layer.get(0) * out + col);
            for (int i = 0; i < CPU_ROWS; i++) {
                int row = row0 + i;
                if (row < rows) {
                    float v = acc[i] + b;
                    int at = row * out + col;
                    if (epilogue == GELU) {
                        v = Activations.gelu(v);
                    } else if (epilogue == RESIDUAL) {
                        v = residual.get(at) + v;
                    }
                    y.set(at, v);
                }
            }
        }
    }

    /**
     * {@link #linear} with half-precision weights (converted to float32 as they are staged). The loop is linear's,
     * written out again: the weight type differs, and TornadoVM mis-addresses local arrays handed to a helper method.
     */
    public static void linearHalf(KernelContext ctx, FloatArray x, HalfFloatArray w, FloatArray bias,
            FloatArray residual, FloatArray y, IntArray layer, int rows, int out, int in, int epilogue) {
        int tx = ctx.localIdx;
        int ty = ctx.localIdy;
        int tid = ty * TX + tx;
        int row0 = ctx.groupIdy * BM;
        int col0 = ctx.groupIdx * BN;
        int wBase = layer.get(0) * out * in;
        float[] xs = ctx.allocateFloatLocalArray(BK * LM);
        float[] ws = ctx.allocateFloatLocalArray(BK * LN);
        // the 4×4 outputs as scalars, not a private array: TornadoVM's PTX backend keeps private arrays in local
        // (off-chip) memory, where every += was a load and a store (the array form ran ViT-B/16 on an H200 at
        // 1.4 TFLOP/s)
        float c00 = 0.0f, c01 = 0.0f, c02 = 0.0f, c03 = 0.0f;
        float c10 = 0.0f, c11 = 0.0f, c12 = 0.0f, c13 = 0.0f;
        float c20 = 0.0f, c21 = 0.0f, c22 = 0.0f, c23 = 0.0f;
        float c30 = 0.0f, c31 = 0.0f, c32 = 0.0f, c33 = 0.0f;
        for (int k0 = 0; k0 < in; k0 += BK) {
            // consecutive work-items load consecutive k of one row (coalesced), stored transposed
            for (int e = tid; e < BM * BK; e += TX * TY) {
                int r = e / BK;
                int k = e % BK;
                int gr = row0 + r;
                int gk = k0 + k;
                xs[k * LM + r] = (gr < rows && gk < in) ? x.get(gr * in + gk) : 0.0f;
                int gc = col0 + r;
                ws[k * LN + r] = (gc < out && gk < in) ? w.get(wBase + gc * in + gk).getFloat32() : 0.0f;
            }
            ctx.localBarrier();
            // c[i][j] += Σ_k xs[k][ty + i·TY] · ws[k][tx + j·TX] (written out here: TornadoVM mis-addresses local
            // arrays passed to a helper method)
            for (int k = 0; k < BK; k++) {
                int xk = k * LM + ty;
                int wk = k * LN + tx;
                float a0 = xs[xk];
                float a1 = xs[xk + TY];
                float a2 = xs[xk + 2 * TY];
                float a3 = xs[xk + 3 * TY];
                float b0 = ws[wk];
                float b1 = ws[wk + TX];
                float b2 = ws[wk + 2 * TX];
                float b3 = ws[wk + 3 * TX];
                c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
                c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
                c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
                c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
            }
            ctx.localBarrier();
        }
        int biasBase = layer.get(0) * out;
        int r0 = row0 + ty;
        int r1 = r0 + TY;
        int r2 = r0 + 2 * TY;
        int r3 = r0 + 3 * TY;
        int f0 = col0 + tx;
        int f1 = f0 + TX;
        int f2 = f0 + 2 * TX;
        int f3 = f0 + 3 * TX;
        put(c00, bias, residual, y, biasBase, rows, out, r0, f0, epilogue);
        put(c01, bias, residual, y, biasBase, rows, out, r0, f1, epilogue);
        put(c02, bias, residual, y, biasBase, rows, out, r0, f2, epilogue);
        put(c03, bias, residual, y, biasBase, rows, out, r0, f3, epilogue);
        put(c10, bias, residual, y, biasBase, rows, out, r1, f0, epilogue);
        put(c11, bias, residual, y, biasBase, rows, out, r1, f1, epilogue);
        put(c12, bias, residual, y, biasBase, rows, out, r1, f2, epilogue);
        put(c13, bias, residual, y, biasBase, rows, out, r1, f3, epilogue);
        put(c20, bias, residual, y, biasBase, rows, out, r2, f0, epilogue);
        put(c21, bias, residual, y, biasBase, rows, out, r2, f1, epilogue);
        put(c22, bias, residual, y, biasBase, rows, out, r2, f2, epilogue);
        put(c23, bias, residual, y, biasBase, rows, out, r2, f3, epilogue);
        put(c30, bias, residual, y, biasBase, rows, out, r3, f0, epilogue);
        put(c31, bias, residual, y, biasBase, rows, out, r3, f1, epilogue);
        put(c32, bias, residual, y, biasBase, rows, out, r3, f2, epilogue);
        put(c33, bias, residual, y, biasBase, rows, out, r3, f3, epilogue);
    }

    /** Stores one output (row, col), if inside y: the bias, then the epilogue. */
    private static void put(float acc, FloatArray bias, FloatArray residual, FloatArray y, int biasBase, int rows,
            int out, int row, int col, int epilogue) {
        if (row < rows && col < out) {
            float v = acc + bias.get(biasBase + col);
            int at = row * out + col;
            if (epilogue == GELU) {
                v = Activations.gelu(v);
            } else if (epilogue == RESIDUAL) {
                v = residual.get(at) + v;
            }
            y.set(at, v);
        }
    }
}
