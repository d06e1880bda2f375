package dev.vitjava.tornado.kernels;

import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;

/**
 * Linear layers {@code y = x Wᵀ + b} as a tiled matrix multiply, with the epilogues a ViT needs fused in: the
 * bias always, then optionally the exact GELU (fc1) or a residual add (proj, fc2).
 *
 * <p>x is (rows, in) row-major; W is (out, in) row-major as PyTorch stores it, so both operands are read along
 * their contiguous dimension. Each work-group computes a {@link #TILE}×{@link #TILE} block of y: dimension 0
 * runs over output features, dimension 1 over rows. Per step of {@code TILE} along {@code in}, the group loads
 * one tile of x and one of W into local memory (zero outside the matrices, so no shape needs to divide the
 * tile), synchronises, and accumulates. Launch with {@link #globalSize} work-items per dimension and a
 * {@code TILE×TILE} local size.
 */
public final class MatMul {

    /** Side of the square output tile one work-group computes; also its local size per dimension. */
    public static final int TILE = 16;

    private MatMul() {
    }

    /** Work-items needed along a dimension of {@code n} outputs. */
    public static int globalSize(int n) {
        return (n + TILE - 1) / TILE * TILE;
    }

    /** y = x Wᵀ + b. */
    public static void linear(KernelContext ctx, FloatArray x, FloatArray w, FloatArray bias, FloatArray y, int rows,
            int out, int in) {
        float acc = tiledDot(ctx, x, w, rows, out, in);
        int row = ctx.groupIdy * TILE + ctx.localIdy;
        int col = ctx.groupIdx * TILE + ctx.localIdx;
        if (row < rows && col < out) {
            y.set(row * out + col, acc + bias.get(col));
        }
    }

    /** y = gelu(x Wᵀ + b), exact GELU. */
    public static void linearGelu(KernelContext ctx, FloatArray x, FloatArray w, FloatArray bias, FloatArray y,
            int rows, int out, int in) {
        float acc = tiledDot(ctx, x, w, rows, out, in);
        int row = ctx.groupIdy * TILE + ctx.localIdy;
        int col = ctx.groupIdx * TILE + ctx.localIdx;
        if (row < rows && col < out) {
            y.set(row * out + col, Activations.gelu(acc + bias.get(col)));
        }
    }

    /** y = residual + (x Wᵀ + b): the residual stream update; y, x and residual are three separate buffers. */
    public static void linearResidual(KernelContext ctx, FloatArray x, FloatArray w, FloatArray bias,
            FloatArray residual, FloatArray y, int rows, int out, int in) {
        float acc = tiledDot(ctx, x, w, rows, out, in);
        int row = ctx.groupIdy * TILE + ctx.localIdy;
        int col = ctx.groupIdx * TILE + ctx.localIdx;
        if (row < rows && col < out) {
            int i = row * out + col;
            y.set(i, residual.get(i) + (acc + bias.get(col)));
        }
    }

    /**
     * The dot product of x's row and W's row for this work-item's output, through local-memory tiles. Every
     * work-item of the group takes part in the loads and barriers, also those outside the output.
     */
    private static float tiledDot(KernelContext ctx, FloatArray x, FloatArray w, int rows, int out, int in) {
        int tx = ctx.localIdx;
        int ty = ctx.localIdy;
        int row = ctx.groupIdy * TILE + ty;
        // the W row this work-item loads: the group's output features, indexed by ty
        int wRow = ctx.groupIdx * TILE + ty;
        float[] xTile = ctx.allocateFloatLocalArray(TILE * TILE);
        float[] wTile = ctx.allocateFloatLocalArray(TILE * TILE);
        float acc = 0.0f;
        for (int k0 = 0; k0 < in; k0 += TILE) {
            int k = k0 + tx;
            xTile[ty * TILE + tx] = (row < rows && k < in) ? x.get(row * in + k) : 0.0f;
            wTile[ty * TILE + tx] = (wRow < out && k < in) ? w.get(wRow * in + k) : 0.0f;
            ctx.localBarrier();
            for (int t = 0; t < TILE; t++) {
                acc += xTile[ty * TILE + t] * wTile[tx * TILE + t];
            }
            ctx.localBarrier();
        }
        return acc;
    }
}
