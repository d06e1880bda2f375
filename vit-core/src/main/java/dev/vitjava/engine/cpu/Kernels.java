package dev.vitjava.engine.cpu;

import dev.vitjava.engine.cpu.platform.WorkerPool;
import dev.vitjava.tensor.Tensor;
import java.util.SplittableRandom;

/**
 * The cpu engine's kernels at a chosen shape, on random data, for benchmarks (vit-benchmarks' JMH suite): each
 * method prepares one kernel call and returns it. This is the engine's only public door to its kernels, which stay
 * package-private; the benchmarks live in their own package and jar.
 */
public final class Kernels {

    /** One prepared kernel call. */
    public interface Call extends AutoCloseable {

        /** Runs the kernel once and returns one output element (so the JIT cannot drop the work). */
        float run();

        /** Stops the call's worker threads, if it has any. */
        @Override
        default void close() {
        }
    }

    private Kernels() {
    }

    /**
     * y = x Wᵀ + b (or gelu of it) for x (m, k) and a packed W (n, k): the engine's GEMM with its bias or GELU
     * epilogue, on {@code threads} workers (1: the calling thread only).
     */
    public static Call matmul(int m, int k, int n, boolean gelu, int threads) {
        WorkerPool pool = new WorkerPool(threads, "bench");
        float[] a = random((m + 2 * Gemm.MR) * k, 1);
        PackedLinear w = PackedLinear.of(Tensor.of(random(n * k, 2), n, k), Tensor.of(random(n, 3), n), n, k,
                new PackedLinear.Arena(PackedLinear.size(n, k)), pool);
        float[] c = new float[(m + Gemm.MR) * w.outPadded];
        int mode = gelu ? Gemm.GELU : Gemm.STORE;
        return new Call() {
            @Override
            public float run() {
                Gemm.multiply(pool, a, w.in, m, w, c, w.outPadded, mode);
                return c[0];
            }

            @Override
            public void close() {
                pool.close();
            }
        };
    }

    /** The engine's fused attention of one image: {@code heads} heads of {@code headDim} over {@code tokens}. */
    public static Call attention(int tokens, int heads, int headDim, int threads) {
        WorkerPool pool = new WorkerPool(threads, "bench");
        int d = heads * headDim;
        float[] qkv = random((tokens + 2 * Gemm.MR) * 3 * d, 4);
        for (int i = 0; i < qkv.length; i++) {
            qkv[i] *= 0.3f;
        }
        float[] out = new float[tokens * d];
        Attention.Scratch[] scratch = new Attention.Scratch[pool.size()];
        for (int i = 0; i < scratch.length; i++) {
            scratch[i] = new Attention.Scratch();
        }
        return new Call() {
            @Override
            public float run() {
                Attention.run(pool, scratch, qkv, 3 * d, out, d, 1, tokens, heads, headDim, null);
                return out[0];
            }

            @Override
            public void close() {
                pool.close();
            }
        };
    }

    /** LayerNorm of {@code rows} rows of {@code d}, row by row on the calling thread. */
    public static Call layerNorm(int rows, int d) {
        float[] x = random(rows * d, 5);
        float[] y = new float[rows * d];
        float[] w = random(d, 6);
        float[] b = random(d, 7);
        return () -> {
            for (int r = 0; r < rows; r++) {
                VectorMath.layerNorm(x, r * d, d, w, b, 1e-6f, y, r * d);
            }
            return y[0];
        };
    }

    /** GELU of {@code n} values (a multiple of the vector length), copied fresh before each call. */
    public static Call gelu(int n) {
        float[] x = random(n, 8);
        float[] y = new float[n];
        return () -> {
            System.arraycopy(x, 0, y, 0, n);
            VectorMath.geluInPlace(y, 0, n);
            return y[n - 1];
        };
    }

    private static float[] random(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] v = new float[n];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) r.nextGaussian();
        }
        return v;
    }
}
