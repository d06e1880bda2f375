package dev.vitjava.tornado.kernels;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vitjava.engine.Erf;
import dev.vitjava.engine.cpu.VectorMath;
import java.util.Random;
import org.junit.jupiter.api.Test;
import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;

/** The float erf and GELU against vit-core's double-precision ones, on the host and compiled for the device. */
class ActivationsTest {

    /** Dense grid over [-6, 6], every float near the branch points, and random floats. */
    static FloatArray samples() {
        int dense = 240_001;
        float[] edges = {0f, 1f, -1f, 4f, -4f, 2.5f, 1e-30f, -1e-30f, 1e-8f};
        int around = 64;
        Random random = new Random(11);
        int randoms = 60_000;
        FloatArray x = new FloatArray(dense + edges.length * (2 * around + 1) + randoms);
        int at = 0;
        for (int i = 0; i < dense; i++) {
            x.set(at++, -6f + 12f * i / (dense - 1));
        }
        for (float e : edges) {
            float v = e;
            for (int i = 0; i < around; i++) {
                v = Math.nextDown(v);
            }
            for (int i = 0; i < 2 * around + 1; i++) {
                x.set(at++, v);
                v = Math.nextUp(v);
            }
        }
        for (int i = 0; i < randoms; i++) {
            x.set(at++, (float) (random.nextGaussian() * 2.5));
        }
        return x;
    }

    public static void erfKernel(KernelContext ctx, FloatArray x, FloatArray y, int n) {
        int i = ctx.globalIdx;
        if (i < n) {
            y.set(i, Activations.erf(x.get(i)));
        }
    }

    public static void geluKernel(KernelContext ctx, FloatArray x, FloatArray y, int n) {
        int i = ctx.globalIdx;
        if (i < n) {
            y.set(i, Activations.gelu(x.get(i)));
        }
    }

    static double worstErf(FloatArray x, FloatArray y) {
        double worst = 0;
        for (int i = 0; i < x.getSize(); i++) {
            worst = Math.max(worst, Math.abs(y.get(i) - Erf.erf(x.get(i))));
        }
        return worst;
    }

    static double worstGeluRelative(FloatArray x, FloatArray y) {
        double worst = 0;
        for (int i = 0; i < x.getSize(); i++) {
            double expected = Erf.gelu(x.get(i));
            worst = Math.max(worst, Math.abs(y.get(i) - expected) / Math.max(1.0, Math.abs(expected)));
        }
        return worst;
    }

    @Test
    void erfOnTheHostIsWithin1e7() {
        FloatArray x = samples();
        FloatArray y = new FloatArray(x.getSize());
        for (int i = 0; i < x.getSize(); i++) {
            y.set(i, Activations.erf(x.get(i)));
        }
        assertThat(worstErf(x, y)).isLessThanOrEqualTo(1e-7);
        assertThat(Activations.erf(Float.NaN)).isNaN();
        assertThat(Activations.erf(Float.POSITIVE_INFINITY)).isEqualTo(1f);
        assertThat(Activations.erf(Float.NEGATIVE_INFINITY)).isEqualTo(-1f);
        assertThat(Activations.erf(-0f)).isEqualTo(-0f);
    }

    /** The kernels and the cpu engine evaluate one coefficient table (ErfFit): they agree to two float ulps of 1. */
    @Test
    void erfAgreesWithTheCpuEngine() {
        FloatArray x = samples();
        double worst = 0;
        for (int i = 0; i < x.getSize(); i++) {
            worst = Math.max(worst, Math.abs(Activations.erf(x.get(i)) - VectorMath.erf(x.get(i))));
        }
        assertThat(worst).isLessThanOrEqualTo(1.2e-7);
    }

    @Test
    void erfOnTheDeviceIsWithin1e7() {
        FloatArray x = samples();
        FloatArray y = new FloatArray(x.getSize());
        int n = x.getSize();
        Device.run(Device.graph(x).task("t", ActivationsTest::erfKernel, new KernelContext(), x, y, n),
                Device.grid1D(n, 256), y);
        double worst = worstErf(x, y);
        System.out.printf("device erf: max |erf32 - erf64| = %.3g%n", worst);
        assertThat(worst).isLessThanOrEqualTo(1e-7);
    }

    @Test
    void geluOnTheDeviceMatchesTheDoubleGelu() {
        FloatArray x = samples();
        FloatArray y = new FloatArray(x.getSize());
        int n = x.getSize();
        Device.run(Device.graph(x).task("t", ActivationsTest::geluKernel, new KernelContext(), x, y, n),
                Device.grid1D(n, 256), y);
        // a couple of float ulps of the result, or of 1 below |gelu| = 1
        assertThat(worstGeluRelative(x, y)).isLessThanOrEqualTo(2.5e-7);
    }
}
