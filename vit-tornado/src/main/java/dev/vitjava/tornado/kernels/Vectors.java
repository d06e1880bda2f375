package dev.vitjava.tornado.kernels;

import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.collections.VectorFloat8;
import uk.ac.manchester.tornado.api.types.vectors.Float8;

/**
 * Moving OpenCL float8 values in and out of the CPU-form kernels: TornadoVM takes a vector's lanes by constant index
 * only, so loops over lanes go through a private array. A float8 assembled from eight scalars costs a lane insert
 * each on PoCL ({@code vinsertps}); one read from a {@code VectorFloat8} is a single vector load.
 */
final class Vectors {

    private Vectors() {
    }

    /** a[at…at+7] as a float8. */
    static Float8 load(FloatArray a, int at) {
        return new Float8(a.get(at), a.get(at + 1), a.get(at + 2), a.get(at + 3), a.get(at + 4), a.get(at + 5),
                a.get(at + 6), a.get(at + 7));
    }

    /** Stores v's lanes in c[at…at+7]. */
    static void store(Float8 v, float[] c, int at) {
        c[at] = v.getS0();
        c[at + 1] = v.getS1();
        c[at + 2] = v.getS2();
        c[at + 3] = v.getS3();
        c[at + 4] = v.getS4();
        c[at + 5] = v.getS5();
        c[at + 6] = v.getS6();
        c[at + 7] = v.getS7();
    }

    /** Eight float8 values in c[0…63], one after the other. */
    static void store(float[] c, Float8 a0, Float8 a1, Float8 a2, Float8 a3, Float8 a4, Float8 a5, Float8 a6,
            Float8 a7) {
        store(a0, c, 0);
        store(a1, c, 8);
        store(a2, c, 16);
        store(a3, c, 24);
        store(a4, c, 32);
        store(a5, c, 40);
        store(a6, c, 48);
        store(a7, c, 56);
    }

    /** Stores v at y[at] if {@code inside}. */
    static void put(VectorFloat8 y, int at, boolean inside, Float8 v) {
        if (inside) {
            y.set(at, v);
        }
    }

    /** The sum of v's lanes. */
    static float sum(Float8 v) {
        return ((v.getS0() + v.getS1()) + (v.getS2() + v.getS3()))
                + ((v.getS4() + v.getS5()) + (v.getS6() + v.getS7()));
    }
}
