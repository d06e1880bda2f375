package dev.vitjava.tornado.kernels;

import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.math.TornadoMath;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;

/**
 * LayerNorm over the last dimension of (rows, dim), as PyTorch: biased variance, eps inside the square root.
 *
 * <p>One work-group of {@link #LOCAL} work-items per row: each work-item sums a strided slice of the row, the
 * partial sums meet in local memory through a tree reduction with a barrier per level, and the same is done
 * again for the squared deviations (two passes, so no cancellation). The scale and shift are the
 * {@code dims[LAYER]}-th slices of weight and bias (the blocks' norms lie concatenated). The sizes come in arrays on
 * the device ({@link #shape}, {@link Dims}), for the reason {@link MatMul} gives: every norm of a plan is then one
 * program, for every shape. Launch with {@code rows × LOCAL} work-items (or more: groups past the rows store
 * nothing) and a local size of {@code LOCAL}.
 */
public final class Norms {

    /** Work-items per row; a power of two. */
    public static final int LOCAL = 64;

    private Norms() {
    }

    /**
     * The shape argument of {@link #layerNorm}: the call's {@code dims[rowsAt]} rows of {@code dim}; row r of y at
     * r·dim, row r of x at r·dim too, or with {@code classTokens} at r·tokens·dim (each image's class token only).
     */
    public static IntArray shape(int dim, int rowsAt, boolean classTokens) {
        return IntArray.fromElements(dim, rowsAt, classTokens ? 1 : 0);
    }

    public static void layerNorm(KernelContext ctx, FloatArray x, FloatArray weight, FloatArray bias, FloatArray y,
            IntArray dims, IntArray shape, float eps) {
        int dim = shape.get(0);
        int rows = dims.get(shape.get(1));
        // a group past the rows (a grid sized for a larger call) reads the last row and stores nothing; it still
        // meets every barrier
        int row = Math.min(ctx.groupIdx, rows - 1);
        int p0 = dims.get(Dims.LAYER) * dim;
        int lid = ctx.localIdx;
        int base = row * (shape.get(2) == 1 ? dims.get(Dims.TOKENS) * dim : dim);
        int out = row * dim;
        boolean store = ctx.groupIdx < rows;
        float[] partial = ctx.allocateFloatLocalArray(LOCAL);

        float sum = 0.0f;
        for (int j = lid; j < dim; j += LOCAL) {
            sum += x.get(base + j);
        }
        partial[lid] = sum;
        ctx.localBarrier();
        for (int stride = LOCAL / 2; stride > 0; stride /= 2) {
            if (lid < stride) {
                partial[lid] += partial[lid + stride];
            }
            ctx.localBarrier();
        }
        float mean = partial[0] / dim;
        // everyone has read partial[0] before it is overwritten
        ctx.localBarrier();

        float squares = 0.0f;
        for (int j = lid; j < dim; j += LOCAL) {
            float dev = x.get(base + j) - mean;
            squares += dev * dev;
        }
        partial[lid] = squares;
        ctx.localBarrier();
        for (int stride = LOCAL / 2; stride > 0; stride /= 2) {
            if (lid < stride) {
                partial[lid] += partial[lid + stride];
            }
            ctx.localBarrier();
        }
        float inv = 1.0f / TornadoMath.sqrt(partial[0] / dim + eps);

        for (int j = lid; j < dim && store; j += LOCAL) {
            y.set(out + j, (x.get(base + j) - mean) * inv * weight.get(p0 + j) + bias.get(p0 + j));
        }
    }
}
