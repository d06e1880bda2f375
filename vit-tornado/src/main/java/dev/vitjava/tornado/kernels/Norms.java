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
 * {@code layer[0]}-th slices of weight and bias (the blocks' norms lie concatenated). The sizes come in an array on
 * the device ({@link #shape}), for the reason {@link MatMul} gives: every norm of a plan is then one program. Launch
 * with {@code rows × LOCAL} work-items and a local size of {@code LOCAL}.
 */
public final class Norms {

    /** Work-items per row; a power of two. */
    public static final int LOCAL = 64;

    private Norms() {
    }

    /**
     * The shape argument of {@link #layerNorm}: rows of {@code dim}, row r of x starting at r·{@code rowStride}
     * (dim for a (rows, dim) matrix; tokens·dim to normalise only each image's class token), row r of y at r·dim.
     */
    public static IntArray shape(int dim, int rowStride) {
        return IntArray.fromElements(dim, rowStride);
    }

    public static void layerNorm(KernelContext ctx, FloatArray x, FloatArray weight, FloatArray bias, FloatArray y,
            IntArray layer, IntArray shape, float eps) {
        int dim = shape.get(0);
        int row = ctx.groupIdx;
        int p0 = layer.get(0) * dim;
        int lid = ctx.localIdx;
        int base = row * shape.get(1);
        int out = row * dim;
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

        for (int j = lid; j < dim; j += LOCAL) {
            y.set(out + j, (x.get(base + j) - mean) * inv * weight.get(p0 + j) + bias.get(p0 + j));
        }
    }
}
