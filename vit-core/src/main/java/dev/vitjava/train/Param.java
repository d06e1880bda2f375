package dev.vitjava.train;

import java.util.Arrays;

/**
 * One trainable tensor under its timm name, with its gradient. Engines keep parameters in their own precision
 * (float32 for the cpu backend, float64 for the reference); the optimizers read and write them through double
 * arrays, so one optimizer serves both.
 */
public abstract sealed class Param permits Param.F32, Param.F64 {

    private final String name;
    private final int[] shape;

    Param(String name, int[] shape) {
        this.name = name;
        this.shape = shape.clone();
    }

    public String name() {
        return name;
    }

    public int[] shape() {
        return shape.clone();
    }

    public abstract int size();

    /** Copies the values into {@code dst}. */
    public abstract void readValues(double[] dst);

    /** Sets the values from {@code src} (rounded to the parameter's precision). */
    public abstract void writeValues(double[] src);

    /** Copies the gradient of the last step into {@code dst}. */
    public abstract void readGrad(double[] dst);

    /** The values as float32, in row-major order (to save the model). */
    public abstract float[] toFloats();

    @Override
    public String toString() {
        return name + Arrays.toString(shape);
    }

    /** A float32 parameter: the value and gradient arrays the cpu backend computes with. */
    public static final class F32 extends Param {
        public final float[] value;
        public final float[] grad;

        public F32(String name, int[] shape, float[] value) {
            super(name, shape);
            this.value = value;
            this.grad = new float[value.length];
        }

        @Override
        public int size() {
            return value.length;
        }

        @Override
        public void readValues(double[] dst) {
            for (int i = 0; i < value.length; i++) {
                dst[i] = value[i];
            }
        }

        @Override
        public void writeValues(double[] src) {
            for (int i = 0; i < value.length; i++) {
                value[i] = (float) src[i];
            }
        }

        @Override
        public void readGrad(double[] dst) {
            for (int i = 0; i < grad.length; i++) {
                dst[i] = grad[i];
            }
        }

        @Override
        public float[] toFloats() {
            return value.clone();
        }
    }

    /** A float64 parameter, for the reference backward pass. */
    public static final class F64 extends Param {
        public final double[] value;
        public final double[] grad;

        public F64(String name, int[] shape, double[] value) {
            super(name, shape);
            this.value = value;
            this.grad = new double[value.length];
        }

        @Override
        public int size() {
            return value.length;
        }

        @Override
        public void readValues(double[] dst) {
            System.arraycopy(value, 0, dst, 0, value.length);
        }

        @Override
        public void writeValues(double[] src) {
            System.arraycopy(src, 0, value, 0, value.length);
        }

        @Override
        public void readGrad(double[] dst) {
            System.arraycopy(grad, 0, dst, 0, grad.length);
        }

        @Override
        public float[] toFloats() {
            float[] out = new float[value.length];
            for (int i = 0; i < out.length; i++) {
                out[i] = (float) value[i];
            }
            return out;
        }
    }
}
