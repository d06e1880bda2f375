package dev.vitjava.engine.cpu;

import dev.vitjava.tensor.Tensor;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * The cpu engine's kernels at ViT-B/16 shapes (197 tokens, width 768, 12 heads of 64, MLP 3072). Average time per
 * call; the GFLOP/s of a matmul is {@code 2 M K N / time}. {@code threads} is the engine's worker count (1 runs on
 * the benchmark thread only). This class lives in the engine's package to reach its package-private kernels.
 *
 * <pre>
 * java --add-modules jdk.incubator.vector -jar vit-benchmarks/target/benchmarks.jar KernelBenchmarks
 * </pre>
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-XX:+UseParallelGC"})
public class KernelBenchmarks {

    static float[] random(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] v = new float[n];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) r.nextGaussian();
        }
        return v;
    }

    /** y = x W^T + b for x (M, K) and W (N, K): qkv, proj, fc1 and fc2 of ViT-B/16 at batch 1. */
    @State(Scope.Benchmark)
    public static class Matmul {
        @Param({"197x768x2304", "197x768x768", "197x768x3072", "197x3072x768"})
        public String mkn;

        @Param({"1", "2"})
        public int threads;

        int m;
        float[] a;
        float[] c;
        PackedLinear w;
        WorkerPool pool;

        @Setup(Level.Trial)
        public void setup() {
            String[] p = mkn.split("x");
            m = Integer.parseInt(p[0]);
            int k = Integer.parseInt(p[1]);
            int n = Integer.parseInt(p[2]);
            pool = new WorkerPool(threads, "bench");
            a = random((m + 2 * Gemm.MR) * k, 1);
            dev.vitjava.tensor.Tensor weight = dev.vitjava.tensor.Tensor.of(random(n * k, 2), n, k);
            dev.vitjava.tensor.Tensor bias = dev.vitjava.tensor.Tensor.of(random(n, 3), n);
            w = PackedLinear.of(weight, bias, n, k, new PackedLinear.Arena(PackedLinear.size(n, k)), pool);
            c = new float[(m + Gemm.MR) * w.outPadded];
        }

        @TearDown(Level.Trial)
        public void close() {
            pool.close();
        }
    }

    @Benchmark
    public float matmul(Matmul s) {
        Gemm.multiply(s.pool, s.a, s.w.in, s.m, s.w, s.c, s.w.outPadded, Gemm.STORE);
        return s.c[0];
    }

    @Benchmark
    public float matmulGelu(Matmul s) {
        Gemm.multiply(s.pool, s.a, s.w.in, s.m, s.w, s.c, s.w.outPadded, Gemm.GELU);
        return s.c[0];
    }

    /** Fused attention of one image: 12 heads x 197 tokens x 64. */
    @State(Scope.Benchmark)
    public static class Attn {
        @Param({"1", "2"})
        public int threads;

        final int tokens = 197;
        final int heads = 12;
        final int headDim = 64;
        float[] qkv;
        float[] out;
        WorkerPool pool;
        Attention.Scratch[] scratch;

        @Setup(Level.Trial)
        public void setup() {
            pool = new WorkerPool(threads, "bench");
            int d = heads * headDim;
            qkv = random((tokens + 2 * Gemm.MR) * 3 * d, 4);
            for (int i = 0; i < qkv.length; i++) {
                qkv[i] *= 0.3f;
            }
            out = new float[tokens * d];
            scratch = new Attention.Scratch[threads];
            for (int i = 0; i < threads; i++) {
                scratch[i] = new Attention.Scratch();
            }
        }

        @TearDown(Level.Trial)
        public void close() {
            pool.close();
        }
    }

    @Benchmark
    public float attention(Attn s) {
        int d = s.heads * s.headDim;
        Attention.run(s.pool, s.scratch, s.qkv, 3 * d, s.out, d, 1, s.tokens, s.heads, s.headDim, null);
        return s.out[0];
    }

    /** LayerNorm of 197 rows of 768. */
    @State(Scope.Benchmark)
    public static class Norm {
        final int rows = 197;
        final int d = 768;
        float[] x = random(rows * d, 5);
        float[] y = new float[rows * d];
        float[] w = random(d, 6);
        float[] b = random(d, 7);
    }

    @Benchmark
    public float layerNorm(Norm s) {
        for (int r = 0; r < s.rows; r++) {
            VectorMath.layerNorm(s.x, r * s.d, s.d, s.w, s.b, 1e-6f, s.y, r * s.d);
        }
        return s.y[0];
    }

    /** GELU of one fc1 output (197 x 3072). */
    @State(Scope.Benchmark)
    public static class Gelu {
        float[] x = random(197 * 3072, 8);
        float[] y = new float[197 * 3072];
    }

    @Benchmark
    public void gelu(Gelu s, Blackhole bh) {
        System.arraycopy(s.x, 0, s.y, 0, s.y.length);
        VectorMath.geluInPlace(s.y, 0, s.y.length);
        bh.consume(s.y);
    }
}
