package dev.vitjava.engine.cpu;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vitjava.engine.Erf;
import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

/** Accuracy of the vectorised float erf, GELU and exp against double-precision references on dense grids. */
class VectorMathTest {

    private static final int L = VectorMath.L;

    /** Evaluates erf on a dense grid of float inputs, L lanes at a time. */
    @Test
    void erfIsWithin1e7OfDoubleErfOnADenseGrid() {
        float[] in = new float[L];
        float[] out = new float[L];
        double worst = 0;
        float worstAt = 0;
        int n = 0;
        // [-6, 6] in steps of 2^-17 (about 1.6 million points), plus every float in [0.99, 1.01] and around 4.
        for (double x = -6; x <= 6; x += 0x1p-17) {
            in[n++ % L] = (float) x;
            if (n % L == 0) {
                VectorMath.erf(FloatVector.fromArray(VectorMath.S, in, 0)).intoArray(out, 0);
                for (int i = 0; i < L; i++) {
                    double err = Math.abs(out[i] - Erf.erf(in[i]));
                    if (err > worst) {
                        worst = err;
                        worstAt = in[i];
                    }
                }
            }
        }
        for (float x : new float[] {0.99f, 3.99f, -1.01f}) {
            for (float y = x; y < x + 0.02f; y = Math.nextUp(y)) {
                double err = Math.abs(VectorMath.erf(y) - Erf.erf(y));
                if (err > worst) {
                    worst = err;
                    worstAt = y;
                }
            }
        }
        assertThat(worst).as("max |erf_float - erf| (at %s)", worstAt).isLessThanOrEqualTo(1e-7);
        assertThat(VectorMath.erf(0f)).isEqualTo(0f);
        assertThat(VectorMath.erf(10f)).isEqualTo(1f);
        assertThat(VectorMath.erf(-10f)).isEqualTo(-1f);
        assertThat(VectorMath.erf(Float.POSITIVE_INFINITY)).isEqualTo(1f);
    }

    @Test
    void geluMatchesDoubleGelu() {
        double worst = 0;
        for (double x = -12; x <= 12; x += 0x1p-10) {
            float f = (float) x;
            double err = Math.abs(VectorMath.gelu(f) - Erf.gelu(f));
            worst = Math.max(worst, err / Math.max(1, Math.abs(f)));
        }
        assertThat(worst).isLessThanOrEqualTo(2e-7);
    }

    @Test
    void expHasSmallRelativeError() {
        double worst = 0;
        for (double x = -87; x <= 88; x += 0x1p-8) {
            float f = (float) x;
            double exact = Math.exp(f);
            worst = Math.max(worst, Math.abs(VectorMath.exp(f) - exact) / exact);
        }
        assertThat(worst).isLessThanOrEqualTo(2.5e-7);
        assertThat(VectorMath.exp(0f)).isEqualTo(1f);
        assertThat(VectorMath.exp(-1000f)).isGreaterThan(0f).isLessThan(1e-37f);
    }

    @Test
    void horizontalSumAndMaxUseEveryLane() {
        float[] v = new float[L];
        for (int i = 0; i < L; i++) {
            v[i] = i + 1;
        }
        FloatVector x = FloatVector.fromArray(VectorMath.S, v, 0);
        assertThat(VectorMath.sum(x)).isEqualTo(L * (L + 1) / 2f);
        assertThat(VectorMath.max(x)).isEqualTo(L);
    }
}
