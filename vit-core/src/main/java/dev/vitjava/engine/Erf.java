package dev.vitjava.engine;

/**
 * The error function in double precision, for the exact GELU {@code 0.5 x (1 + erf(x / sqrt 2))} that timm,
 * torchvision and Hugging Face ({@code hidden_act: gelu}) use. Java has no erf; this one is accurate to a few
 * ulp: the Maclaurin series near zero and the continued fraction of erfc in the tails.
 */
public final class Erf {

    private static final double TWO_OVER_SQRT_PI = 1.1283791670955126;
    private static final double INV_SQRT_PI = 0.5641895835477563;
    private static final double INV_SQRT2 = 0.7071067811865476;

    private Erf() {
    }

    public static double erf(double x) {
        double ax = Math.abs(x);
        if (ax < 2.5) {
            // erf x = 2/sqrt(pi) * sum (-1)^n x^(2n+1) / (n! (2n+1)); terms peak near 16 at x = 2.5, so ~1e-15 error.
            double x2 = x * x;
            double term = x;
            double sum = x;
            for (int n = 1; n < 100; n++) {
                term *= -x2 / n;
                double add = term / (2 * n + 1);
                sum += add;
                if (Math.abs(add) < 1e-17 * Math.abs(sum)) {
                    break;
                }
            }
            return TWO_OVER_SQRT_PI * sum;
        }
        if (ax > 6.5) {
            return Math.copySign(1.0, x);
        }
        // erfc x = exp(-x^2)/sqrt(pi) / (x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + ...))))), evaluated backwards.
        double f = ax;
        for (int k = 60; k >= 1; k--) {
            f = ax + (k / 2.0) / f;
        }
        double erfc = Math.exp(-ax * ax) * INV_SQRT_PI / f;
        return Math.copySign(1.0 - erfc, x);
    }

    /** Exact GELU, computed in double. */
    public static double gelu(double x) {
        return 0.5 * x * (1.0 + erf(x * INV_SQRT2));
    }
}
