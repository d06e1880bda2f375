package dev.vitjava.engine.cpu;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vitjava.engine.cpu.platform.CacheLines;
import dev.vitjava.engine.cpu.platform.WorkerPool;
import dev.vitjava.model.RandomWeights;
import org.junit.jupiter.api.Test;

class PackedLinearTest {

    @Test
    void movedPackedWeightsGiveTheSameProducts() {
        int in = 70;
        int out = 150;
        int rows = 13;
        var w = RandomWeights.pixels(1, out, in);
        var b = RandomWeights.pixels(2, out);
        float[] a = RandomWeights.pixels(3, rows + Gemm.MR, in).toArray();
        try (WorkerPool pool = new WorkerPool(2, "test")) {
            PackedLinear.Arena arena = new PackedLinear.Arena(PackedLinear.size(out, in));
            PackedLinear p = PackedLinear.of(w, b, out, in, arena, pool);
            float[] expected = new float[rows * p.outPadded];
            Gemm.multiply(pool, a, in, rows, p, expected, p.outPadded, Gemm.STORE);
            for (int base = 0; base < CacheLines.FLOATS; base += 5) {
                arena.moveTo(base);
                float[] c = new float[rows * p.outPadded];
                Gemm.multiply(pool, a, in, rows, p, c, p.outPadded, Gemm.STORE);
                assertThat(c).as("packed data moved to %d", base).isEqualTo(expected);
            }
            arena.align();
            float[] c = new float[rows * p.outPadded];
            Gemm.multiply(pool, a, in, rows, p, c, p.outPadded, Gemm.STORE);
            assertThat(c).isEqualTo(expected);
        }
    }
}
