package dev.vitjava.benchmarks;

import java.util.concurrent.TimeUnit;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The machine's float32 FMA peak as the Vector API reaches it: 12 independent accumulator chains (enough to cover
 * the FMA latency on two FMA ports) of {@code SPECIES_PREFERRED} fused multiply-adds, no memory traffic. Throughput
 * is reported in FLOP per microsecond (1 FMA lane = 2 FLOP), i.e. MFLOP/s; run with {@code -t 1} and
 * {@code -t 2} (threads) for one core and the whole machine.
 *
 * <pre>
 * java --add-modules jdk.incubator.vector -jar vit-benchmarks/target/benchmarks.jar PeakFma -t 2
 * </pre>
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
@State(Scope.Thread)
public class PeakFmaBenchmark {

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    /** Lane-FMAs per chain and call, whatever the vector width (JMH needs the operation count as a constant). */
    private static final int LANE_FMAS = 1_600_000;
    private static final int ITERATIONS = LANE_FMAS / S.length();
    private static final int CHAINS = 12;
    /** FLOP per call: chains x lane-FMAs x 2. */
    static final int FLOP = CHAINS * LANE_FMAS * 2;

    float m = 0.9999999f;
    float c = 1e-7f;

    @Benchmark
    @Threads(1)
    @OperationsPerInvocation(FLOP)
    public float peakFma() {
        FloatVector mv = FloatVector.broadcast(S, m);
        FloatVector cv = FloatVector.broadcast(S, c);
        FloatVector a0 = FloatVector.broadcast(S, 1f);
        FloatVector a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, a8 = a0, a9 = a0;
        FloatVector a10 = a0, a11 = a0;
        for (int i = 0; i < ITERATIONS; i++) {
            a0 = a0.fma(mv, cv); a1 = a1.fma(mv, cv); a2 = a2.fma(mv, cv); a3 = a3.fma(mv, cv);
            a4 = a4.fma(mv, cv); a5 = a5.fma(mv, cv); a6 = a6.fma(mv, cv); a7 = a7.fma(mv, cv);
            a8 = a8.fma(mv, cv); a9 = a9.fma(mv, cv); a10 = a10.fma(mv, cv); a11 = a11.fma(mv, cv);
        }
        return a0.add(a1).add(a2).add(a3).add(a4).add(a5).add(a6).add(a7).add(a8).add(a9).add(a10).add(a11)
                .lane(0);
    }
}
