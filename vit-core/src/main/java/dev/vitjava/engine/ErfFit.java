package dev.vitjava.engine;

/**
 * The float erf that the fast engines use for the exact GELU, as one coefficient table: the cpu engine's vector code
 * ({@code engine.cpu.VectorMath}) and the TornadoVM kernels ({@code tornado.kernels.Activations}) both evaluate it,
 * so the two backends compute the same function (a test checks that they agree). Accurate to 1e-7 absolute
 * against the double-precision {@link Erf} over all floats.
 *
 * <pre>
 * |x| &lt; 1       erf x = x + x P(x²)                           P: degree-7 fit of erf(x)/x - 1 in x²
 * 1 ≤ |x| &lt; 4   erf x = 1 - exp(-x²) Q((|x| - 2.5) / 1.5)     Q: degree-12 fit of erfc(x) exp(x²)
 * |x| ≥ 4       erf x = ±1                                    (erfc 4 = 1.5e-8, below half a float ulp of 1)
 * </pre>
 *
 * The coefficients are least-squares fits at Chebyshev nodes (numpy, against mpmath), rounded to float; writing
 * the small part {@code x P(x²)} apart from {@code x} keeps the float Horner evaluation within an ulp. They are
 * single constants, not arrays, because device kernels can only inline compile-time constants.
 */
public final class ErfFit {

    // erf(x)/x - 1 = P0 + P1 u + ... + P7 u^7, u = x^2, |x| < 1.
    public static final float P0 = 0.12837916612625122f;
    public static final float P1 = -0.37612637877464294f;
    public static final float P2 = 0.11283782869577408f;
    public static final float P3 = -0.026865437626838684f;
    public static final float P4 = 0.005221053492277861f;
    public static final float P5 = -0.0008484396385028958f;
    public static final float P6 = 0.00011268253729213029f;
    public static final float P7 = -9.673590284364764e-06f;

    // erfc(x) exp(x^2) = Q0 + Q1 t + ... + Q12 t^12, t = (x - 2.5) / 1.5, 1 <= x < 4.
    public static final float Q0 = 0.21080636978149414f;
    public static final float Q1 = -0.11152100563049316f;
    public static final float Q2 = 0.05611047148704529f;
    public static final float Q3 = -0.027005724608898163f;
    public static final float Q4 = 0.012489703483879566f;
    public static final float Q5 = -0.0055673327296972275f;
    public static final float Q6 = 0.0024017016403377056f;
    public static final float Q7 = -0.0010171177564188838f;
    public static final float Q8 = 0.00041450810385867953f;
    public static final float Q9 = -0.00014394859317690134f;
    public static final float Q10 = 5.494724973686971e-05f;
    public static final float Q11 = -3.69287226931192e-05f;
    public static final float Q12 = 1.3819088962918613e-05f;

    /** Where the small-argument fit ends and the large-argument one begins. */
    public static final float SPLIT = 1.0f;
    /** Beyond this |x|, erf x rounds to ±1. */
    public static final float CLAMP = 4.0f;
    /** The large-argument fit's variable: t = (|x| - CENTER) / HALF_WIDTH. */
    public static final float CENTER = 2.5f;
    public static final float HALF_WIDTH = 1.5f;

    private ErfFit() {
    }
}
