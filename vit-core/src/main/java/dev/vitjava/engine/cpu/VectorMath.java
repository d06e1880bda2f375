package dev.vitjava.engine.cpu;

import dev.vitjava.engine.ErfFit;
import java.util.List;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vectorised float math built only from exactly rounded lane-wise operations (add, mul, fma, compare, integer
 * shifts), so a result is the same bits whether the code runs interpreted, C1- or C2-compiled. That is why exp and
 * erf are our own and not {@code lanewise(EXP)}, whose compiled (SVML) and fallback paths may differ in the last
 * bit, and why horizontal sums use a fixed butterfly instead of {@code reduceLanes(ADD)}, whose order is
 * unspecified.
 */
public final class VectorMath {

    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final int L = S.length();

    /** xor-butterfly shuffles: lane i takes lane i ^ s, for s = L/2, L/4, ..., 1. */
    private static final VectorShuffle<Float>[] BUTTERFLY = butterfly();

    // exp: Cody-Waite reduction x = n ln2 + r, |r| <= ln2/2, then a degree-7 polynomial (Cephes expf).
    private static final float LOG2E = 1.44269504088896341f;
    private static final float LN2_HI = 0.693359375f;
    private static final float LN2_LO = -2.12194440e-4f;
    /** 1.5 * 2^23: adding it rounds a float of magnitude < 2^22 to an integer held in the low mantissa bits. */
    private static final float ROUND_MAGIC = 12582912f;
    private static final float EXP_MIN = -87.0f;
    private static final float E5 = 1.9875691500e-4f;
    private static final float E4 = 1.3981999507e-3f;
    private static final float E3 = 8.3334519073e-3f;
    private static final float E2 = 4.1665795894e-2f;
    private static final float E1 = 1.6666665459e-1f;
    private static final float E0 = 5.0000001201e-1f;

    private static final float ERF_CLAMP = ErfFit.CLAMP;
    private static final float INV_SQRT2 = 0.70710677f;

    private VectorMath() {
    }

    @SuppressWarnings("unchecked")
    private static VectorShuffle<Float>[] butterfly() {
        int steps = Integer.numberOfTrailingZeros(L);
        VectorShuffle<Float>[] out = new VectorShuffle[steps];
        for (int k = 0; k < steps; k++) {
            int s = L >> (k + 1);
            out[k] = VectorShuffle.fromOp(S, i -> i ^ s);
        }
        return out;
    }

    /** Sum of the lanes in a fixed order (the same bits on every run and in every compilation tier). */
    public static float sum(FloatVector v) {
        for (VectorShuffle<Float> s : BUTTERFLY) {
            v = v.add(v.rearrange(s));
        }
        return v.lane(0);
    }

    /** Largest lane. */
    public static float max(FloatVector v) {
        for (VectorShuffle<Float> s : BUTTERFLY) {
            FloatVector r = v.rearrange(s);
            v = v.blend(r, r.compare(VectorOperators.GT, v));
        }
        return v.lane(0);
    }

    // The shared erf fit (ErfFit) as vectors.
    private static final FloatVector P0 = FloatVector.broadcast(S, ErfFit.P0);
    private static final FloatVector P1 = FloatVector.broadcast(S, ErfFit.P1);
    private static final FloatVector P2 = FloatVector.broadcast(S, ErfFit.P2);
    private static final FloatVector P3 = FloatVector.broadcast(S, ErfFit.P3);
    private static final FloatVector P4 = FloatVector.broadcast(S, ErfFit.P4);
    private static final FloatVector P5 = FloatVector.broadcast(S, ErfFit.P5);
    private static final FloatVector P6 = FloatVector.broadcast(S, ErfFit.P6);
    private static final FloatVector P7 = FloatVector.broadcast(S, ErfFit.P7);
    private static final FloatVector Q0 = FloatVector.broadcast(S, ErfFit.Q0);
    private static final FloatVector Q1 = FloatVector.broadcast(S, ErfFit.Q1);
    private static final FloatVector Q2 = FloatVector.broadcast(S, ErfFit.Q2);
    private static final FloatVector Q3 = FloatVector.broadcast(S, ErfFit.Q3);
    private static final FloatVector Q4 = FloatVector.broadcast(S, ErfFit.Q4);
    private static final FloatVector Q5 = FloatVector.broadcast(S, ErfFit.Q5);
    private static final FloatVector Q6 = FloatVector.broadcast(S, ErfFit.Q6);
    private static final FloatVector Q7 = FloatVector.broadcast(S, ErfFit.Q7);
    private static final FloatVector Q8 = FloatVector.broadcast(S, ErfFit.Q8);
    private static final FloatVector Q9 = FloatVector.broadcast(S, ErfFit.Q9);
    private static final FloatVector Q10 = FloatVector.broadcast(S, ErfFit.Q10);
    private static final FloatVector Q11 = FloatVector.broadcast(S, ErfFit.Q11);
    private static final FloatVector Q12 = FloatVector.broadcast(S, ErfFit.Q12);
    private static final FloatVector VE0 = FloatVector.broadcast(S, E0);
    private static final FloatVector VE1 = FloatVector.broadcast(S, E1);
    private static final FloatVector VE2 = FloatVector.broadcast(S, E2);
    private static final FloatVector VE3 = FloatVector.broadcast(S, E3);
    private static final FloatVector VE4 = FloatVector.broadcast(S, E4);
    private static final FloatVector VE5 = FloatVector.broadcast(S, E5);
    private static final FloatVector NEG_LN2_HI = FloatVector.broadcast(S, -LN2_HI);
    private static final FloatVector NEG_LN2_LO = FloatVector.broadcast(S, -LN2_LO);

    /**
     * e^x for x <= 88 (every caller has x <= 0), relative error about 1 ulp; inputs below -87 give e^-87 (so the
     * result never underflows to 0 or a subnormal).
     */
    public static FloatVector exp(FloatVector x) {
        // compare + blend instead of max(): FloatVector.max has Java's NaN and signed-zero rules, five instructions.
        x = x.blend(EXP_MIN, x.compare(VectorOperators.LT, EXP_MIN));
        // t holds n = round(x log2 e) in its low mantissa bits: bits(t) = bits(ROUND_MAGIC) + n, and since
        // bits(ROUND_MAGIC) << 23 overflows to 0, 2^n = (bits(t) + 127) << 23 with no float-to-int conversion
        // (a conversion that C2 compiled about three times slower than this whole function).
        FloatVector t = x.mul(LOG2E).add(ROUND_MAGIC);
        FloatVector n = t.sub(ROUND_MAGIC);
        FloatVector scale = t.reinterpretAsInts().add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        FloatVector r = n.fma(NEG_LN2_HI, x);
        r = n.fma(NEG_LN2_LO, r);
        FloatVector p = VE5.fma(r, VE4).fma(r, VE3).fma(r, VE2).fma(r, VE1).fma(r, VE0);
        FloatVector y = p.fma(r.mul(r), r).add(1f);
        return y.mul(scale);
    }

    /** The error function in float ({@link ErfFit}), |error| below 1e-7 against the exact erf of the float input. */
    public static FloatVector erf(FloatVector x) {
        FloatVector ax = x.abs();
        FloatVector z = x.mul(x);
        FloatVector ps = P7.fma(z, P6).fma(z, P5).fma(z, P4).fma(z, P3).fma(z, P2).fma(z, P1).fma(z, P0);
        FloatVector small = x.fma(ps, x);
        FloatVector c = ax.blend(ERF_CLAMP, ax.compare(VectorOperators.GT, ERF_CLAMP));
        FloatVector u = c.sub(ErfFit.CENTER).mul(1f / ErfFit.HALF_WIDTH);
        FloatVector e = exp(c.mul(c).neg());
        FloatVector pl = Q12.fma(u, Q11).fma(u, Q10).fma(u, Q9).fma(u, Q8).fma(u, Q7).fma(u, Q6).fma(u, Q5)
                .fma(u, Q4).fma(u, Q3).fma(u, Q2).fma(u, Q1).fma(u, Q0);
        FloatVector large = e.mul(pl).neg().add(1f);
        large = large.blend(large.neg(), x.compare(VectorOperators.LT, 0f));
        return small.blend(large, ax.compare(VectorOperators.GE, ErfFit.SPLIT));
    }

    /** Exact GELU, 0.5 x (1 + erf(x / sqrt 2)). */
    public static FloatVector gelu(FloatVector x) {
        FloatVector half = x.mul(0.5f);
        return half.fma(erf(x.mul(INV_SQRT2)), half);
    }

    /** x[off, off + n) = gelu(x), n a multiple of L. */
    static void geluInPlace(float[] x, int off, int n) {
        for (int i = off; i < off + n; i += L) {
            gelu(FloatVector.fromArray(S, x, i)).intoArray(x, i);
        }
    }

    /** Scalar erf through the vector path (lane 0), for tests and scalar tails. */
    public static float erf(float x) {
        return erf(FloatVector.broadcast(S, x)).lane(0);
    }

    /** Scalar exp through the vector path. */
    public static float exp(float x) {
        return exp(FloatVector.broadcast(S, x)).lane(0);
    }

    /** Scalar GELU through the vector path. */
    public static float gelu(float x) {
        return gelu(FloatVector.broadcast(S, x)).lane(0);
    }

    /** The {@link Warmup} calls: LayerNorm, with a vector tail on every other call. */
    static List<Warmup.Step> warmup() {
        float[] x = Warmup.fill(new float[6 * L], 0.5f);
        float[] w = Warmup.fill(new float[6 * L], 1f);
        float[] b = Warmup.fill(new float[6 * L], 0f);
        float[] y = new float[6 * L];
        int[] n = new int[1];
        return List.of(new Warmup.Step("norm", () -> layerNorm(x, 0, 5 * L + n[0]++ % 2 * 3, w, b, 1e-6f, y, 0),
                1_000, false));
    }

    /**
     * LayerNorm of one row: out = (x - mean) / sqrt(var + eps) * w + b, biased variance, two passes in float with
     * vector lanes and a fixed reduction order. Columns past {@code d} of {@code out} are left alone.
     */
    static void layerNorm(float[] x, int xOff, int d, float[] w, float[] b, float eps, float[] out, int outOff) {
        FloatVector acc = FloatVector.zero(S);
        int full = d - d % L;
        int j = 0;
        for (; j < full; j += L) {
            acc = acc.add(FloatVector.fromArray(S, x, xOff + j));
        }
        VectorMask<Float> tail = S.indexInRange(j, d);
        if (j < d) {
            acc = acc.add(FloatVector.fromArray(S, x, xOff + j, tail));
        }
        float mean = sum(acc) / d;
        acc = FloatVector.zero(S);
        for (j = 0; j < full; j += L) {
            FloatVector dev = FloatVector.fromArray(S, x, xOff + j).sub(mean);
            acc = dev.fma(dev, acc);
        }
        if (j < d) {
            FloatVector dev = FloatVector.fromArray(S, x, xOff + j, tail).sub(mean, tail);
            acc = dev.fma(dev, acc);
        }
        float var = sum(acc) / d;
        float inv = (float) (1.0 / Math.sqrt((double) var + eps));
        for (j = 0; j < full; j += L) {
            FloatVector dev = FloatVector.fromArray(S, x, xOff + j).sub(mean);
            dev.mul(inv).fma(FloatVector.fromArray(S, w, j), FloatVector.fromArray(S, b, j)).intoArray(out, outOff + j);
        }
        if (j < d) {
            FloatVector dev = FloatVector.fromArray(S, x, xOff + j, tail).sub(mean);
            dev.mul(inv).fma(FloatVector.fromArray(S, w, j, tail), FloatVector.fromArray(S, b, j, tail))
                    .intoArray(out, outOff + j, tail);
        }
    }
}
