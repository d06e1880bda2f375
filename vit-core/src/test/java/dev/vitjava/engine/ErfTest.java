package dev.vitjava.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.math.BigDecimal;
import java.math.MathContext;
import org.junit.jupiter.api.Test;

class ErfTest {

    private static final MathContext MC = new MathContext(60);

    /** erf by its Maclaurin series in 60-digit arithmetic: slow, independent, and exact to double precision. */
    static double erfExact(double x) {
        BigDecimal bx = new BigDecimal(x);
        BigDecimal x2 = bx.multiply(bx, MC);
        BigDecimal term = bx;
        BigDecimal sum = bx;
        for (int n = 1; n < 400; n++) {
            term = term.multiply(x2, MC).divide(BigDecimal.valueOf(-n), MC);
            BigDecimal add = term.divide(BigDecimal.valueOf(2L * n + 1), MC);
            sum = sum.add(add, MC);
            if (add.abs().compareTo(new BigDecimal("1e-40")) < 0) {
                break;
            }
        }
        BigDecimal twoOverSqrtPi = new BigDecimal("1.1283791670955125738961589031215451716881012586580");
        return sum.multiply(twoOverSqrtPi, MC).doubleValue();
    }

    @Test
    void matchesHighPrecisionSeriesOnADenseGrid() {
        double worst = 0;
        for (double x = -6; x <= 6; x += 0.00731) {
            worst = Math.max(worst, Math.abs(Erf.erf(x) - erfExact(x)));
        }
        assertThat(worst).isLessThan(1e-14);
    }

    @Test
    void tailsAndSymmetry() {
        assertThat(Erf.erf(0)).isZero();
        assertThat(Erf.erf(10)).isEqualTo(1.0);
        assertThat(Erf.erf(-3.3)).isEqualTo(-Erf.erf(3.3));
        assertThat(Erf.erf(2.5 - 1e-12)).isCloseTo(Erf.erf(2.5 + 1e-12), org.assertj.core.api.Assertions.within(1e-14));
    }

    @Test
    void geluIsTheExactErfForm() {
        // GELU(1) = 0.5 * (1 + erf(1/sqrt 2)) = 0.8413447460685429 (the standard normal CDF at 1)
        assertThat(Erf.gelu(1.0)).isCloseTo(0.8413447460685429, org.assertj.core.api.Assertions.within(1e-15));
        assertThat(Erf.gelu(-1.0)).isCloseTo(-0.15865525393145707, org.assertj.core.api.Assertions.within(1e-15));
    }
}
