package dev.vitjava.tornado.kernels;

import dev.vitjava.engine.ErfFit;
import uk.ac.manchester.tornado.api.math.TornadoMath;

/**
 * The exact GELU in float, for kernels: {@code 0.5 x (1 + erf(x / sqrt 2))}. TornadoMath has no erf, so this class
 * evaluates vit-core's float fit ({@link ErfFit}, the one the cpu engine uses), accurate to 1e-7 absolute against
 * the double-precision erf over all floats (measured worst 6.6e-8, about one float ulp near 1;
 * {@code ActivationsTest} checks it on the host and on the device, and against the cpu engine's erf). The
 * coefficients are compile-time constants, which javac inlines into this code, as a kernel needs.
 */
public final class Activations {

    private static final float INV_SQRT2 = 0.70710678118654752f;

    private Activations() {
    }

    /** The error function of a float, |error| ≤ 1e-7. */
    public static float erf(float x) {
        float ax = TornadoMath.abs(x);
        float result;
        if (ax < ErfFit.SPLIT) {
            float u = x * x;
            float p = ErfFit.P7;
            p = p * u + ErfFit.P6;
            p = p * u + ErfFit.P5;
            p = p * u + ErfFit.P4;
            p = p * u + ErfFit.P3;
            p = p * u + ErfFit.P2;
            p = p * u + ErfFit.P1;
            p = p * u + ErfFit.P0;
            result = x + x * p;
        } else if (ax < ErfFit.CLAMP) {
            float t = (ax - ErfFit.CENTER) / ErfFit.HALF_WIDTH;
            float q = ErfFit.Q12;
            q = q * t + ErfFit.Q11;
            q = q * t + ErfFit.Q10;
            q = q * t + ErfFit.Q9;
            q = q * t + ErfFit.Q8;
            q = q * t + ErfFit.Q7;
            q = q * t + ErfFit.Q6;
            q = q * t + ErfFit.Q5;
            q = q * t + ErfFit.Q4;
            q = q * t + ErfFit.Q3;
            q = q * t + ErfFit.Q2;
            q = q * t + ErfFit.Q1;
            q = q * t + ErfFit.Q0;
            float e = 1.0f - TornadoMath.exp(-(ax * ax)) * q;
            result = x < 0.0f ? -e : e;
        } else {
            // ±1 for the tails; NaN stays NaN
            result = x < 0.0f ? -1.0f : (x > 0.0f ? 1.0f : x);
        }
        return result;
    }

    /** Exact (erf) GELU of a float, as torch.nn.GELU(approximate="none"). */
    public static float gelu(float x) {
        return 0.5f * x * (1.0f + erf(x * INV_SQRT2));
    }
}
