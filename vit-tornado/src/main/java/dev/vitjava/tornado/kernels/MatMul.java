package dev.vitjava.tornado.kernels;

import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.HalfFloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;
import uk.ac.manchester.tornado.api.types.collections.VectorFloat8;
import uk.ac.manchester.tornado.api.types.vectors.Float8;

/**
 * Linear layers {@code y = x Wᵀ + b} as a register-tiled matrix multiply, with the epilogues a ViT needs fused in:
 * the bias always, then the exact GELU (fc1), a residual add (proj, fc2) or, for the patch embedding, the placement
 * into the token sequence with the class token and the position embedding.
 *
 * <p>x is (rows, in) row-major; W is (out, in) row-major as PyTorch stores it, so both operands are read along
 * their contiguous dimension. A work-group of tx×ty work-items ({@link Tiles#gemmX}×{@link Tiles#gemmY}, int
 * arguments that TornadoVM compiles in as constants) computes a 4·tx-feature by 4·ty-row block of y; each work-item
 * holds 4×4 outputs in registers, at rows {@code ly + i·ty} and features {@code lx + j·tx}, so that neighbouring
 * work-items read neighbouring local-memory words (no bank conflicts) and write neighbouring outputs (coalesced). Per
 * step of bk ({@link Tiles#gemmK}) along {@code in} the group stages a bk×4·ty slice of x and a bk×4·tx slice of W
 * in local memory, transposed to k-major with rows padded by one word (the transposing stores then hit distinct
 * banks), zero outside the matrices so that no shape needs to divide the tiles. Every product accumulates in
 * float32, also for half-precision weights.
 *
 * <p>One kernel serves every linear layer of every block: the weights of all blocks lie concatenated in one array
 * and {@code dims[LAYER]} (on the device, set before each block) selects the block's slice, so a model compiles each
 * task once, whatever its depth. The sizes and the epilogue come in small arrays on the device (the layer's
 * {@link #shape}, the call's {@link Dims}), not as int arguments: TornadoVM bakes the values of scalar arguments
 * into the kernel it generates, so every linear layer of a plan would be a program of its own, and every batch size
 * a plan of its own; with the sizes in arrays, TornadoVM generates the same source for all of them, the OpenCL
 * driver's program cache builds it once (on PoCL, 40-80 ms for each later task instead of 170-230), and one plan
 * runs every shape. Launch with {@link #globalX}×{@link #globalY} work-items and a tx×ty local size.
 */
public final class MatMul {

    /** Epilogues. */
    public static final int BIAS = 0;
    public static final int GELU = 1;
    public static final int RESIDUAL = 2;
    /** {@link #linearCpu} only: the bias, and whole float8 rows into its vector output (needs out % 8 == 0). */
    public static final int VECTORS = 3;
    /**
     * The patch embedding into the token sequence: row r of the product (image r / patches, patch r % patches) goes
     * to token prefix + r % patches of y (batch, prefix + patches, out) plus that token's row of {@code residual}
     * (the position embedding), and each image's first patch also writes the prefix tokens (residual's first rows:
     * the class token plus its position).
     */
    public static final int EMBED = 4;

    /** Where the sizes lie in a {@link #shape} array; ROWS holds which of the call's row counts ({@link Dims}) applies. */
    private static final int ROWS = 0;
    private static final int OUT = 1;
    private static final int IN = 2;
    private static final int EPILOGUE = 3;
    private static final int PREFIX = 4;

    private MatMul() {
    }

    /**
     * The shape argument of a linear kernel: x is (rows, in), W (out, in), with an epilogue other than EMBED; the
     * row count is the call's {@code dims[rowsAt]} ({@link Dims#TOKEN_ROWS} in the blocks, {@link Dims#BATCH} in the
     * head).
     */
    public static IntArray shape(int rowsAt, int out, int in, int epilogue) {
        return IntArray.fromElements(rowsAt, out, in, epilogue, 0);
    }

    /**
     * The shape argument of the patch embedding ({@link #EMBED}): x is (batch·patches, in), W (out, in), and each
     * image's sequence starts with {@code prefix} tokens.
     */
    public static IntArray embedShape(int out, int in, int prefix) {
        return IntArray.fromElements(Dims.PATCH_ROWS, out, in, EMBED, prefix);
    }

    /** Work-items along dimension 0 for {@code out} features, with these tiles. */
    public static int globalX(int out, Tiles t) {
        int bn = 4 * t.gemmX();
        return (out + bn - 1) / bn * t.gemmX();
    }

    /** Work-items along dimension 1 for {@code rows} rows, with these tiles. */
    public static int globalY(int rows, Tiles t) {
        int bm = 4 * t.gemmY();
        return (rows + bm - 1) / bm * t.gemmY();
    }

    /**
     * y = epilogue(x Wᵀ + b) with W and b the {@code dims[LAYER]}-th slices of w and bias, sizes and epilogue from
     * {@code shape} and {@code dims}: {@link #BIAS} as is, {@link #GELU} the exact GELU of it, {@link #RESIDUAL} residual + it
     * (residual and y distinct buffers), {@link #EMBED} into the token sequence; with BIAS and GELU residual is not
     * read.
     */
    public static void linear(KernelContext ctx, FloatArray x, FloatArray w, FloatArray bias, FloatArray residual,
            FloatArray y, IntArray dims, IntArray shape, int tx, int ty, int bk) {
        int rows = dims.get(shape.get(ROWS));
        int out = shape.get(OUT);
        int in = shape.get(IN);
        int lx = ctx.localIdx;
        int ly = ctx.localIdy;
        int tid = ly * tx + lx;
        int bm = 4 * ty;
        int bn = 4 * tx;
        int lm = bm + 1;
        int ln = bn + 1;
        int row0 = ctx.groupIdy * bm;
        int col0 = ctx.groupIdx * bn;
        int wBase = dims.get(Dims.LAYER) * out * in;
        float[] xs = ctx.allocateFloatLocalArray(bk * lm);
        float[] ws = ctx.allocateFloatLocalArray(bk * ln);
        // the 4×4 outputs as scalars, not a private array: TornadoVM's PTX backend keeps private arrays in local
        // (off-chip) memory, where every += was a load and a store (the array form ran ViT-B/16 on an H200 at
        // 1.4 TFLOP/s)
        float c00 = 0.0f, c01 = 0.0f, c02 = 0.0f, c03 = 0.0f;
        float c10 = 0.0f, c11 = 0.0f, c12 = 0.0f, c13 = 0.0f;
        float c20 = 0.0f, c21 = 0.0f, c22 = 0.0f, c23 = 0.0f;
        float c30 = 0.0f, c31 = 0.0f, c32 = 0.0f, c33 = 0.0f;
        for (int k0 = 0; k0 < in; k0 += bk) {
            // consecutive work-items load consecutive k of one row (coalesced), stored transposed
            for (int e = tid; e < Math.max(bm, bn) * bk; e += tx * ty) {
                int r = e / bk;
                int k = e % bk;
                int gk = k0 + k;
                if (r < bm) {
                    int gr = row0 + r;
                    xs[k * lm + r] = (gr < rows && gk < in) ? x.get(gr * in + gk) : 0.0f;
                }
                if (r < bn) {
                    int gc = col0 + r;
                    ws[k * ln + r] = (gc < out && gk < in) ? w.get(wBase + gc * in + gk) : 0.0f;
                }
            }
            ctx.localBarrier();
            // c[i][j] += Σ_k xs[k][ly + i·ty] · ws[k][lx + j·tx] (written out here: TornadoVM mis-addresses local
            // arrays passed to a helper method)
            for (int k = 0; k < bk; k++) {
                int xk = k * lm + ly;
                int wk = k * ln + lx;
                float a0 = xs[xk];
                float a1 = xs[xk + ty];
                float a2 = xs[xk + 2 * ty];
                float a3 = xs[xk + 3 * ty];
                float b0 = ws[wk];
                float b1 = ws[wk + tx];
                float b2 = ws[wk + 2 * tx];
                float b3 = ws[wk + 3 * tx];
                c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
                c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
                c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
                c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
            }
            ctx.localBarrier();
        }
        int biasBase = dims.get(Dims.LAYER) * out;
        int r0 = row0 + ly;
        int r1 = r0 + ty;
        int r2 = r0 + 2 * ty;
        int r3 = r0 + 3 * ty;
        int f0 = col0 + lx;
        int f1 = f0 + tx;
        int f2 = f0 + 2 * tx;
        int f3 = f0 + 3 * tx;
        put(c00, bias, residual, y, dims, shape, biasBase, r0, f0);
        put(c01, bias, residual, y, dims, shape, biasBase, r0, f1);
        put(c02, bias, residual, y, dims, shape, biasBase, r0, f2);
        put(c03, bias, residual, y, dims, shape, biasBase, r0, f3);
        put(c10, bias, residual, y, dims, shape, biasBase, r1, f0);
        put(c11, bias, residual, y, dims, shape, biasBase, r1, f1);
        put(c12, bias, residual, y, dims, shape, biasBase, r1, f2);
        put(c13, bias, residual, y, dims, shape, biasBase, r1, f3);
        put(c20, bias, residual, y, dims, shape, biasBase, r2, f0);
        put(c21, bias, residual, y, dims, shape, biasBase, r2, f1);
        put(c22, bias, residual, y, dims, shape, biasBase, r2, f2);
        put(c23, bias, residual, y, dims, shape, biasBase, r2, f3);
        put(c30, bias, residual, y, dims, shape, biasBase, r3, f0);
        put(c31, bias, residual, y, dims, shape, biasBase, r3, f1);
        put(c32, bias, residual, y, dims, shape, biasBase, r3, f2);
        put(c33, bias, residual, y, dims, shape, biasBase, r3, f3);
    }

    /** Rows per work-item of {@link #linearCpu}. */
    public static final int CPU_ROWS = 8;
    /** Consecutive features per work-item of {@link #linearCpu}: one OpenCL float8. */
    public static final int CPU_LANES = 8;
    /** Work-items per group of {@link #linearCpu} (groups of features). */
    public static final int CPU_LOCAL = 8;

    /** Work-items along dimension 0 of {@link #linearCpu} for {@code out} features. */
    public static int cpuGlobalX(int out) {
        return (cpuVectors(out) + CPU_LOCAL - 1) / CPU_LOCAL * CPU_LOCAL;
    }

    /** float8 vectors per row of {@link #linearCpu}'s weights: {@code out} rounded up to {@link #CPU_LANES}. */
    public static int cpuVectors(int out) {
        return (out + CPU_LANES - 1) / CPU_LANES;
    }

    /**
     * Where {@link #linearCpu} reads W[layer][o][k]: each layer's features in groups of {@link #CPU_LANES} (the last
     * padded with zeros), and each group's weights as {@code in} consecutive float8 vectors, one per k: a work-item
     * reads its group's weights front to back.
     */
    public static int cpuWeightIndex(int layer, int o, int k, int out, int in) {
        return ((layer * cpuVectors(out) + o / CPU_LANES) * in + k) * CPU_LANES + o % CPU_LANES;
    }

    /**
     * {@link #linear} for CPU devices (PoCL): no local memory and no barriers (on a CPU, OpenCL local memory is plain
     * memory and each barrier splits the work-item loops), and explicit float8 arithmetic. A work-item computes
     * {@link #CPU_LANES} consecutive features for {@link #CPU_ROWS} rows: per step along {@code in} it loads the next
     * float8 of its features' weights ({@link #cpuWeightIndex}) and multiplies it by one x value of each row, into
     * eight float8 accumulators. PoCL compiles these to packed multiplies and adds; the scalar form this replaced (one
     * feature per work-item, for the compiler to vectorise over work-items) stayed scalar, because TornadoVM
     * addresses memory through integers cast to pointers. Each group's weights lie front to back: with the weights
     * transposed row by row instead, every step along {@code in} jumped {@code out} floats, and ViT-B/16's matrix
     * products ran at half the speed. Measured on PoCL 3.1 on 2 AVX2 cores, vit_tiny and ViT-B/16 at batch 8: 76
     * and 53 GFLOP/s, where an FMA-chain kernel reaches 100-133. Launch with {@link #cpuGlobalX} × ⌈rows / CPU_ROWS⌉
     * work-items and a CPU_LOCAL × 1 local size.
     */
    public static void linearCpu(KernelContext ctx, FloatArray x, VectorFloat8 wt, FloatArray bias,
            FloatArray residual, FloatArray y, VectorFloat8 y8, IntArray dims, IntArray shape) {
        int rows = dims.get(shape.get(ROWS));
        int out = shape.get(OUT);
        int in = shape.get(IN);
        int vectors = cpuVectors(out);
        int v = ctx.globalIdx;
        if (v < vectors) {
            int row0 = ctx.globalIdy * CPU_ROWS;
            int wBase = (dims.get(Dims.LAYER) * vectors + v) * in;
            // rows past the end read the last row (their results are not stored): no test in the k loop
            int x0 = Math.min(row0, rows - 1) * in;
            int x1 = Math.min(row0 + 1, rows - 1) * in;
            int x2 = Math.min(row0 + 2, rows - 1) * in;
            int x3 = Math.min(row0 + 3, rows - 1) * in;
            int x4 = Math.min(row0 + 4, rows - 1) * in;
            int x5 = Math.min(row0 + 5, rows - 1) * in;
            int x6 = Math.min(row0 + 6, rows - 1) * in;
            int x7 = Math.min(row0 + 7, rows - 1) * in;
            Float8 a0 = new Float8(0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f);
            Float8 a1 = new Float8(0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f);
            Float8 a2 = new Float8(0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f);
            Float8 a3 = new Float8(0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f);
            Float8 a4 = new Float8(0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f);
            Float8 a5 = new Float8(0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f);
            Float8 a6 = new Float8(0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f);
            Float8 a7 = new Float8(0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f);
            for (int k = 0; k < in; k++) {
                Float8 w = wt.get(wBase + k);
                a0 = Float8.add(a0, Float8.mult(w, x.get(x0 + k)));
                a1 = Float8.add(a1, Float8.mult(w, x.get(x1 + k)));
                a2 = Float8.add(a2, Float8.mult(w, x.get(x2 + k)));
                a3 = Float8.add(a3, Float8.mult(w, x.get(x3 + k)));
                a4 = Float8.add(a4, Float8.mult(w, x.get(x4 + k)));
                a5 = Float8.add(a5, Float8.mult(w, x.get(x5 + k)));
                a6 = Float8.add(a6, Float8.mult(w, x.get(x6 + k)));
                a7 = Float8.add(a7, Float8.mult(w, x.get(x7 + k)));
            }
            int biasBase = dims.get(Dims.LAYER) * out;
            int col0 = v * CPU_LANES;
            if (shape.get(EPILOGUE) == VECTORS) {
                Float8 b = Vectors.load(bias, biasBase + col0);
                int at = row0 * vectors + v;
                Vectors.put(y8, at, row0 < rows, Float8.add(a0, b));
                Vectors.put(y8, at + vectors, row0 + 1 < rows, Float8.add(a1, b));
                Vectors.put(y8, at + 2 * vectors, row0 + 2 < rows, Float8.add(a2, b));
                Vectors.put(y8, at + 3 * vectors, row0 + 3 < rows, Float8.add(a3, b));
                Vectors.put(y8, at + 4 * vectors, row0 + 4 < rows, Float8.add(a4, b));
                Vectors.put(y8, at + 5 * vectors, row0 + 5 < rows, Float8.add(a5, b));
                Vectors.put(y8, at + 6 * vectors, row0 + 6 < rows, Float8.add(a6, b));
                Vectors.put(y8, at + 7 * vectors, row0 + 7 < rows, Float8.add(a7, b));
            } else {
                // the 64 outputs go through a private array so that one loop stores them: TornadoVM takes vector
                // lanes by constant index only, and a helper storing a float8's lanes with the GELU is over its
                // inlining limit
                float[] c = new float[CPU_ROWS * CPU_LANES];
                Vectors.store(c, a0, a1, a2, a3, a4, a5, a6, a7);
                for (int i = 0; i < CPU_ROWS; i++) {
                    for (int j = 0; j < CPU_LANES; j++) {
                        put(c[i * CPU_LANES + j], bias, residual, y, dims, shape, biasBase, row0 + i, col0 + j);
                    }
                }
            }
        }
    }

    /**
     * {@link #linear} with half-precision weights (converted to float32 as they are staged). The loop is linear's,
     * written out again: the weight type differs, and TornadoVM mis-addresses local arrays handed to a helper method.
     */
    public static void linearHalf(KernelContext ctx, FloatArray x, HalfFloatArray w, FloatArray bias,
            FloatArray residual, FloatArray y, IntArray dims, IntArray shape, int tx, int ty, int bk) {
        int rows = dims.get(shape.get(ROWS));
        int out = shape.get(OUT);
        int in = shape.get(IN);
        int lx = ctx.localIdx;
        int ly = ctx.localIdy;
        int tid = ly * tx + lx;
        int bm = 4 * ty;
        int bn = 4 * tx;
        int lm = bm + 1;
        int ln = bn + 1;
        int row0 = ctx.groupIdy * bm;
        int col0 = ctx.groupIdx * bn;
        int wBase = dims.get(Dims.LAYER) * out * in;
        float[] xs = ctx.allocateFloatLocalArray(bk * lm);
        float[] ws = ctx.allocateFloatLocalArray(bk * ln);
        // the 4×4 outputs as scalars, not a private array: TornadoVM's PTX backend keeps private arrays in local
        // (off-chip) memory, where every += was a load and a store (the array form ran ViT-B/16 on an H200 at
        // 1.4 TFLOP/s)
        float c00 = 0.0f, c01 = 0.0f, c02 = 0.0f, c03 = 0.0f;
        float c10 = 0.0f, c11 = 0.0f, c12 = 0.0f, c13 = 0.0f;
        float c20 = 0.0f, c21 = 0.0f, c22 = 0.0f, c23 = 0.0f;
        float c30 = 0.0f, c31 = 0.0f, c32 = 0.0f, c33 = 0.0f;
        for (int k0 = 0; k0 < in; k0 += bk) {
            // consecutive work-items load consecutive k of one row (coalesced), stored transposed
            for (int e = tid; e < Math.max(bm, bn) * bk; e += tx * ty) {
                int r = e / bk;
                int k = e % bk;
                int gk = k0 + k;
                if (r < bm) {
                    int gr = row0 + r;
                    xs[k * lm + r] = (gr < rows && gk < in) ? x.get(gr * in + gk) : 0.0f;
                }
                if (r < bn) {
                    int gc = col0 + r;
                    ws[k * ln + r] = (gc < out && gk < in) ? w.get(wBase + gc * in + gk).getFloat32() : 0.0f;
                }
            }
            ctx.localBarrier();
            // c[i][j] += Σ_k xs[k][ly + i·ty] · ws[k][lx + j·tx] (written out here: TornadoVM mis-addresses local
            // arrays passed to a helper method)
            for (int k = 0; k < bk; k++) {
                int xk = k * lm + ly;
                int wk = k * ln + lx;
                float a0 = xs[xk];
                float a1 = xs[xk + ty];
                float a2 = xs[xk + 2 * ty];
                float a3 = xs[xk + 3 * ty];
                float b0 = ws[wk];
                float b1 = ws[wk + tx];
                float b2 = ws[wk + 2 * tx];
                float b3 = ws[wk + 3 * tx];
                c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
                c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
                c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
                c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
            }
            ctx.localBarrier();
        }
        int biasBase = dims.get(Dims.LAYER) * out;
        int r0 = row0 + ly;
        int r1 = r0 + ty;
        int r2 = r0 + 2 * ty;
        int r3 = r0 + 3 * ty;
        int f0 = col0 + lx;
        int f1 = f0 + tx;
        int f2 = f0 + 2 * tx;
        int f3 = f0 + 3 * tx;
        put(c00, bias, residual, y, dims, shape, biasBase, r0, f0);
        put(c01, bias, residual, y, dims, shape, biasBase, r0, f1);
        put(c02, bias, residual, y, dims, shape, biasBase, r0, f2);
        put(c03, bias, residual, y, dims, shape, biasBase, r0, f3);
        put(c10, bias, residual, y, dims, shape, biasBase, r1, f0);
        put(c11, bias, residual, y, dims, shape, biasBase, r1, f1);
        put(c12, bias, residual, y, dims, shape, biasBase, r1, f2);
        put(c13, bias, residual, y, dims, shape, biasBase, r1, f3);
        put(c20, bias, residual, y, dims, shape, biasBase, r2, f0);
        put(c21, bias, residual, y, dims, shape, biasBase, r2, f1);
        put(c22, bias, residual, y, dims, shape, biasBase, r2, f2);
        put(c23, bias, residual, y, dims, shape, biasBase, r2, f3);
        put(c30, bias, residual, y, dims, shape, biasBase, r3, f0);
        put(c31, bias, residual, y, dims, shape, biasBase, r3, f1);
        put(c32, bias, residual, y, dims, shape, biasBase, r3, f2);
        put(c33, bias, residual, y, dims, shape, biasBase, r3, f3);
    }

    /** Stores one output (row, col), if inside y: the bias, then the epilogue. */
    private static void put(float acc, FloatArray bias, FloatArray residual, FloatArray y, IntArray dims,
            IntArray shape, int biasBase, int row, int col) {
        int out = shape.get(OUT);
        if (row < dims.get(shape.get(ROWS)) && col < out) {
            float v = acc + bias.get(biasBase + col);
            int at = row * out + col;
            int epilogue = shape.get(EPILOGUE);
            if (epilogue == GELU) {
                v = Activations.gelu(v);
            } else if (epilogue == RESIDUAL) {
                v = residual.get(at) + v;
            } else if (epilogue == EMBED) {
                int patches = dims.get(Dims.PATCHES);
                int prefix = shape.get(PREFIX);
                int token = prefix + row % patches;
                int first = row / patches * (prefix + patches);
                for (int t = 0; t < prefix && token == prefix; t++) {
                    y.set((first + t) * out + col, residual.get(t * out + col));
                }
                v = v + residual.get(token * out + col);
                at = (first + token) * out + col;
            }
            y.set(at, v);
        }
    }
}
