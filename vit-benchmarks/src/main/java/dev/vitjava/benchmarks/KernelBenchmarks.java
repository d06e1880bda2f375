package dev.vitjava.benchmarks;

import dev.vitjava.engine.cpu.Kernels;
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

/**
 * The cpu engine's kernels at ViT-B/16 shapes (197 tokens, width 768, 12 heads of 64, MLP 3072), through the
 * engine's public entry {@link Kernels}. Average time per call; the GFLOP/s of a matmul is {@code 2 M K N / time}.
 * {@code threads} is the engine's worker count (1 runs on the benchmark thread only).
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

    /** y = x W^T + b for x (M, K) and W (N, K): qkv, proj, fc1 and fc2 of ViT-B/16 at batch 1. */
    @State(Scope.Benchmark)
    public static class Matmul {
        @Param({"197x768x2304", "197x768x768", "197x768x3072", "197x3072x768"})
        public String mkn;

        @Param({"1", "2"})
        public int threads;

        Kernels.Call plain;
        Kernels.Call gelu;

        @Setup(Level.Trial)
        public void setup() {
            String[] p = mkn.split("x");
            int m = Integer.parseInt(p[0]);
            int k = Integer.parseInt(p[1]);
            int n = Integer.parseInt(p[2]);
            plain = Kernels.matmul(m, k, n, false, threads);
            gelu = Kernels.matmul(m, k, n, true, threads);
        }

        @TearDown(Level.Trial)
        public void close() {
            plain.close();
            gelu.close();
        }
    }

    @Benchmark
    public float matmul(Matmul s) {
        return s.plain.run();
    }

    @Benchmark
    public float matmulGelu(Matmul s) {
        return s.gelu.run();
    }

    /** Fused attention of one image: 12 heads x 197 tokens x 64. */
    @State(Scope.Benchmark)
    public static class Attn {
        @Param({"1", "2"})
        public int threads;

        Kernels.Call call;

        @Setup(Level.Trial)
        public void setup() {
            call = Kernels.attention(197, 12, 64, threads);
        }

        @TearDown(Level.Trial)
        public void close() {
            call.close();
        }
    }

    @Benchmark
    public float attention(Attn s) {
        return s.call.run();
    }

    /** LayerNorm of 197 rows of 768. */
    @State(Scope.Benchmark)
    public static class Norm {
        final Kernels.Call call = Kernels.layerNorm(197, 768);
    }

    @Benchmark
    public float layerNorm(Norm s) {
        return s.call.run();
    }

    /** GELU of one fc1 output (197 x 3072). */
    @State(Scope.Benchmark)
    public static class Gelu {
        final Kernels.Call call = Kernels.gelu(197 * 3072);
    }

    @Benchmark
    public float gelu(Gelu s) {
        return s.call.run();
    }
}
