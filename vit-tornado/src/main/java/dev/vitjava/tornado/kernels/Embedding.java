package dev.vitjava.tornado.kernels;

import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;

/**
 * The element-wise steps around the transformer blocks: patch extraction for the patch-embedding convolution
 * (which then runs as a {@link MatMul#linear} whose {@link MatMul#EMBED} epilogue assembles the token sequence), and
 * pooling for the head. One work-item per output element; launch with the element count rounded up to the local
 * size.
 */
public final class Embedding {

    private Embedding() {
    }

    /**
     * im2col for a stride-{@code patch} convolution: pixels (batch, channels, height, width) to patches
     * (batch·gridH·gridW, channels·patch·patch), patches in row-major grid order and each row in the
     * convolution weight's (channel, ky, kx) order, so that conv(pixels) = patches Wᵀ. The batch and the image's
     * size come from {@code dims}.
     */
    public static void im2col(KernelContext ctx, FloatArray pixels, FloatArray patches, IntArray dims, int channels,
            int patch) {
        int batch = dims.get(Dims.BATCH);
        int height = dims.get(Dims.HEIGHT);
        int width = dims.get(Dims.WIDTH);
        int gridW = dims.get(Dims.GRID_W);
        int numPatches = dims.get(Dims.PATCHES);
        int gid = ctx.globalIdx;
        int k = channels * patch * patch;
        if (gid < batch * numPatches * k) {
            int col = gid % k;
            int row = gid / k;
            int n = row / numPatches;
            int p = row % numPatches;
            int py = p / gridW;
            int px = p % gridW;
            int c = col / (patch * patch);
            int r = col % (patch * patch);
            int ky = r / patch;
            int kx = r % patch;
            patches.set(gid, pixels.get(((n * channels + c) * height + py * patch + ky) * width + px * patch + kx));
        }
    }

    /**
     * pooled (batch, dim) from x (batch, tokens, dim): the class token ({@code avg == 0}) or the mean of the
     * patch tokens ({@code avg == 1}); batch and tokens from {@code dims}.
     */
    public static void pool(KernelContext ctx, FloatArray x, FloatArray pooled, IntArray dims, int prefix, int dim,
            int avg) {
        int batch = dims.get(Dims.BATCH);
        int tokens = dims.get(Dims.TOKENS);
        int gid = ctx.globalIdx;
        if (gid < batch * dim) {
            int j = gid % dim;
            int n = gid / dim;
            if (avg == 0) {
                pooled.set(gid, x.get(n * tokens * dim + j));
            } else {
                float sum = 0.0f;
                for (int t = prefix; t < tokens; t++) {
                    sum += x.get((n * tokens + t) * dim + j);
                }
                pooled.set(gid, sum / (tokens - prefix));
            }
        }
    }

    /**
     * dst = src over the call's batch·tokens rows of {@code width} (a traced block's output, copied so that the
     * plan's x stays in one graph's hands).
     */
    public static void copy(KernelContext ctx, FloatArray src, FloatArray dst, IntArray dims, int width) {
        int n = dims.get(Dims.TOKEN_ROWS) * width;
        int gid = ctx.globalIdx;
        if (gid < n) {
            dst.set(gid, src.get(gid));
        }
    }
}
