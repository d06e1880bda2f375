package dev.vitjava.engine.cpu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The vectorised LayerNorm against its definition in double: biased variance, eps inside the square root,
 * then the affine weight and bias; widths that are and are not multiples of the vector length, offsets, and rows
 * with a large mean or a variance near eps, where the placement of eps decides the result.
 */
class LayerNormTest {

    static double[] reference(float[] x, int off, int d, float[] w, float[] b, double eps) {
        double mean = 0;
        for (int j = 0; j < d; j++) {
            mean += x[off + j];
        }
        mean /= d;
        double var = 0;
        for (int j = 0; j < d; j++) {
            var += (x[off + j] - mean) * (x[off + j] - mean);
        }
        var /= d; // biased, as torch.nn.LayerNorm
        double[] out = new double[d];
        for (int j = 0; j < d; j++) {
            out[j] = (x[off + j] - mean) / Math.sqrt(var + eps) * w[j] + b[j];
        }
        return out;
    }

    @ParameterizedTest(name = "d={0} scale={1} shift={2} eps={3}")
    @CsvSource({"768,1,0,1e-6", "64,1,0,1e-12", "97,3,0,1e-6", "5,1,0,1e-6", "192,1,100,1e-6", "33,1e-3,0,1e-6",
        "48,1e-2,3,1e-5"})
    void matchesTheDefinition(int d, double scale, double shift, double eps) {
        Random r = new Random(d);
        int off = 3;
        float[] x = new float[off + d];
        float[] w = new float[d];
        float[] b = new float[d];
        for (int j = 0; j < d; j++) {
            x[off + j] = (float) (shift + scale * r.nextGaussian());
            w[j] = (float) (1 + 0.2 * r.nextGaussian());
            b[j] = (float) (0.1 * r.nextGaussian());
        }
        float[] out = new float[d + 2];
        VectorMath.layerNorm(x, off, d, w, b, (float) eps, out, 2);
        double[] want = reference(x, off, d, w, b, eps);
        // float32 loses about 6e-8 * |mean| / std of each centred value: the conditioning of the row
        double conditioning = 1 + Math.abs(shift) / scale;
        for (int j = 0; j < d; j++) {
            assertThat((double) out[2 + j]).as("element %d", j)
                    .isCloseTo(want[j], within(1e-5 + 2e-7 * conditioning * (1 + Math.abs(want[j]))));
        }
    }

    @ParameterizedTest(name = "eps={0}")
    @CsvSource({"1e-6", "1e-12"})
    void constantRowGivesTheBias(double eps) {
        int d = 40;
        float[] x = new float[d];
        java.util.Arrays.fill(x, 2.5f);
        float[] w = new float[d];
        float[] b = new float[d];
        for (int j = 0; j < d; j++) {
            w[j] = 1 + j;
            b[j] = j * 0.5f;
        }
        float[] out = new float[d];
        VectorMath.layerNorm(x, 0, d, w, b, (float) eps, out, 0);
        for (int j = 0; j < d; j++) {
            assertThat(out[j]).isEqualTo(b[j]);
        }
    }
}
