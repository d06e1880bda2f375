package dev.vitjava.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.vitjava.tensor.Tensor;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Bicubic resampling against a second, deliberately naive formulation of PyTorch's rule: for every output pixel,
 * weigh every input pixel by Keys' kernel W(distance) with A = -0.75, after clamping the tap index.
 */
class PosEmbedTest {

    static double keys(double x) {
        double a = -0.75;
        x = Math.abs(x);
        if (x <= 1) {
            return (a + 2) * x * x * x - (a + 3) * x * x + 1;
        }
        if (x < 2) {
            return a * x * x * x - 5 * a * x * x + 8 * a * x - 4 * a;
        }
        return 0;
    }

    /** Weight of input index i for output o along one axis, with border taps folded onto the clamped index. */
    static double axisWeight(int in, int out, int o, int i) {
        double src = (double) ((float) in / out * (o + 0.5f) - 0.5f);
        int base = (int) Math.floor(src);
        double w = 0;
        for (int k = base - 1; k <= base + 2; k++) {
            if (Math.min(Math.max(k, 0), in - 1) == i) {
                w += keys(src - k);
            }
        }
        return w;
    }

    @ParameterizedTest(name = "{0}x{1} -> {2}x{3}")
    @CsvSource({"4,4,6,6", "4,4,3,3", "7,7,14,14", "14,14,7,5", "3,5,8,2", "2,2,9,9", "5,3,5,7"})
    void matchesTheKernelDefinition(int oldH, int oldW, int newH, int newW) {
        int d = 5;
        Random rnd = new Random(oldH * 31 + newW);
        float[] values = new float[(1 + oldH * oldW) * d];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) rnd.nextGaussian();
        }
        Tensor out = PosEmbed.resample(Tensor.of(values, 1, 1 + oldH * oldW, d), 1, oldH, oldW, newH, newW);
        assertThat(out.shape()).containsExactly(1 + newH * newW, d);
        for (int c = 0; c < d; c++) {
            assertThat(out.get(c)).as("class-token row is copied").isEqualTo(values[c]);
        }
        for (int oy = 0; oy < newH; oy++) {
            for (int ox = 0; ox < newW; ox++) {
                for (int c = 0; c < d; c++) {
                    double expected = 0;
                    for (int iy = 0; iy < oldH; iy++) {
                        for (int ix = 0; ix < oldW; ix++) {
                            expected += axisWeight(oldH, newH, oy, iy) * axisWeight(oldW, newW, ox, ix)
                                    * values[(1 + iy * oldW + ix) * d + c];
                        }
                    }
                    assertThat((double) out.get((1 + oy * newW + ox) * d + c)).isCloseTo(expected, within(1e-5));
                }
            }
        }
    }

    @ParameterizedTest(name = "{0}x{1}")
    @CsvSource({"4,4", "3,7"})
    void sameSizeIsTheIdentity(int h, int w) {
        float[] values = new float[(1 + h * w) * 3];
        for (int i = 0; i < values.length; i++) {
            values[i] = i * 0.37f - 2;
        }
        Tensor out = PosEmbed.resample(Tensor.of(values, 1 + h * w, 3), 1, h, w, h, w);
        for (int i = 0; i < values.length; i++) {
            assertThat(out.get(i)).isCloseTo(values[i], within(1e-6f));
        }
    }
}
