package dev.vitjava.tornado.kernels;

import uk.ac.manchester.tornado.api.math.TornadoMath;

/**
 * The exact GELU in float, for kernels: {@code 0.5 x (1 + erf(x / sqrt 2))}. TornadoMath has no erf, so this class
 * has its own, accurate to 1e-7 absolute against the double-precision erf over all floats (measured worst 6.6e-8,
 * about one float ulp near 1; {@code ActivationsTest} checks it on the host and on the device).
 *
 * <pre>
 * |x| &lt; 1       erf x = x + x P(x²)               P: degree-7 fit of erf(x)/x - 1 in x²
 * 1 ≤ |x| &lt; 4   erf x = 1 - exp(-x²) Q((|x| - 2.5) / 1.5)   Q: degree-12 fit of erfc(x) exp(x²)
 * |x| ≥ 4       erf x = ±1                          (erfc 4 = 1.5e-8, below half a float ulp of 1)
 * </pre>
 *
 * The coefficients are least-squares fits at Chebyshev nodes (numpy, against mpmath), rounded to float; writing
 * the small part {@code x P(x²)} apart from {@code x} keeps the float Horner evaluation within an ulp.
 */
public final class Activations {

    private static final float INV_SQRT2 = 0.70710678118654752f;

    // erf(x)/x - 1 = A0 + A1 u + ... + A7 u^7, u = x^2, |x| < 1.
    private static final float A0 = 0.12837916612625122f;
    private static final float A1 = -0.37612637877464294f;
    private static final float A2 = 0.11283782869577408f;
    private static final float A3 = -0.026865437626838684f;
    private static final float A4 = 0.005221053492277861f;
    private static final float A5 = -0.0008484396385028958f;
    private static final float A6 = 0.00011268253729213029f;
    private static final float A7 = -9.673590284364764e-06f;

    // erfc(x) exp(x^2) = B0 + B1 t + ... + B12 t^12, t = (x - 2.5) / 1.5, 1 <= x < 4.
    private static final float B0 = 0.21080636978149414f;
    private static final float B1 = -0.11152100563049316f;
    private static final float B2 = 0.05611047148704529f;
    private static final float B3 = -0.027005724608898163f;
    private static final float B4 = 0.012489703483879566f;
    private static final float B5 = -0.0055673327296972275f;
    private static final float B6 = 0.0024017016403377056f;
    private static final float B7 = -0.0010171177564188838f;
    private static final float B8 = 0.00041450810385867953f;
    private static final float B9 = -0.00014394859317690134f;
    private static final float B10 = 5.494724973686971e-05f;
    private static final float B11 = -3.69287226931192e-05f;
    private static final float B12 = 1.3819088962918613e-05f;

    private Activations() {
    }

    /** The error function of a float, |error| ≤ 1e-7. */
    public static float erf(float x) {
        float ax = TornadoMath.abs(x);
        float result;
        if (ax < 1.0f) {
            float u = x * x;
            float p = A7;
            p = p * u + A6;
            p = p * u + A5;
            p = p * u + A4;
            p = p * u + A3;
            p = p * u + A2;
            p = p * u + A1;
            p = p * u + A0;
            result = x + x * p;
        } else if (ax < 4.0f) {
            float t = (ax - 2.5f) / 1.5f;
            float q = B12;
            q = q * t + B11;
            q = q * t + B10;
            q = q * t + B9;
            q = q * t + B8;
            q = q * t + B7;
            q = q * t + B6;
            q = q * t + B5;
            q = q * t + B4;
            q = q * t + B3;
            q = q * t + B2;
            q = q * t + B1;
            q = q * t + B0;
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
