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
 * {@link #BM}-row block of y; each work-item holds {@link #RM}×{@link #RN} outputs in registers, at rows
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

    /** Rows (of x) per work-group tile. */
    public static final int BM = 64;
    /** Output features per work-group tile. */
    public static final int BN = 64;
    /** Depth of one local-memory step along {@code in}. */
    public static final int BK = 16;
    /** Work-items per group along the features (dimension 0) and along the rows (dimension 1). */
    public static final int TX = 16;
    public static final int TY = 16;
    /** Outputs per work-item: rows and features. */
    static final int RM = BM / TY;
    static final int RN = BN / TX;
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
        float[] acc = new float[RM * RN];
        float[] xr = new float[RM];
        float[] wr = new float[RN];
        for (int a = 0; a < RM * RN; a++) {
            acc[a] = 0.0f;
        }
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
            // acc[i][j] += Σ_k xs[k][ty + i·TY] · ws[k][tx + j·TX] (written out here: TornadoVM mis-addresses
            // local arrays passed to a helper method)
            for (int k = 0; k < BK; k++) {
                for (int i = 0; i < RM; i++) {
                    xr[i] = xs[k * LM + ty + i * TY];
                }
                for (int j = 0; j < RN; j++) {
                    wr[j] = ws[k * LN + tx + j * TX];
                }
                for (int i = 0; i < RM; i++) {
                    for (int j = 0; j < RN; j++) {
                        acc[i * RN + j] += xr[i] * wr[j];
                    }
                }
            }
            ctx.localBarrier();
        }
        store(acc, bias, residual, y, layer.get(0) * out, rows, out, row0, col0, tx, ty, epilogue);
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
        float[] acc = new float[RM * RN];
        float[] xr = new float[RM];
        float[] wr = new float[RN];
        for (int a = 0; a < RM * RN; a++) {
            acc[a] = 0.0f;
        }
        for (int k0 = 0; k0 < in; k0 += BK) {
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
            // acc[i][j] += Σ_k xs[k][ty + i·TY] · ws[k][tx + j·TX] (written out here: TornadoVM mis-addresses
            // local arrays passed to a helper method)
            for (int k = 0; k < BK; k++) {
                for (int i = 0; i < RM; i++) {
                    xr[i] = xs[k * LM + ty + i * TY];
                }
                for (int j = 0; j < RN; j++) {
                    wr[j] = ws[k * LN + tx + j * TX];
                }
                for (int i = 0; i < RM; i++) {
                    for (int j = 0; j < RN; j++) {
                        acc[i * RN + j] += xr[i] * wr[j];
                    }
                }
            }
            ctx.localBarrier();
        }
        store(acc, bias, residual, y, layer.get(0) * out, rows, out, row0, col0, tx, ty, epilogue);
    }

    private static void store(float[] acc, FloatArray bias, FloatArray residual, FloatArray y, int biasBase,
            int rows, int out, int row0, int col0, int tx, int ty, int epilogue) {
        for (int i = 0; i < RM; i++) {
            int row = row0 + ty + i * TY;
            for (int j = 0; j < RN; j++) {
                int col = col0 + tx + j * TX;
                if (row < rows && col < out) {
                    float v = acc[i * RN + j] + bias.get(biasBase + col);
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
}
