package dev.vitjava.tensor;

import java.nio.FloatBuffer;
import java.util.Arrays;

/**
 * A dense float32 tensor in row-major order. The data is a {@link FloatBuffer}: a view of a memory-mapped
 * checkpoint for float32 weights (zero copy), or a heap array for converted weights and activations.
 */
public record Tensor(int[] shape, FloatBuffer data) {

    public Tensor {
        shape = shape.clone();
        long n = numel(shape);
        if (n != data.capacity()) {
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " needs " + n
                    + " values, buffer has " + data.capacity());
        }
    }

    public static Tensor of(float[] values, int... shape) {
        return new Tensor(shape, FloatBuffer.wrap(values));
    }

    public static long numel(int[] shape) {
        long n = 1;
        for (int d : shape) {
            n *= d;
        }
        return n;
    }

    public int size() {
        return data.capacity();
    }

    public int rank() {
        return shape.length;
    }

    public int dim(int i) {
        return shape[i < 0 ? shape.length + i : i];
    }

    @Override
    public int[] shape() {
        return shape.clone();
    }

    public float get(int index) {
        return data.get(index);
    }

    /** The values as a fresh (or, for heap tensors, the backing) array. */
    public float[] toArray() {
        if (data.hasArray() && data.arrayOffset() == 0 && data.array().length == size()) {
            return data.array();
        }
        float[] out = new float[size()];
        data.get(0, out);
        return out;
    }

    /** A tensor over the same data with another shape of the same size. */
    public Tensor reshape(int... newShape) {
        return new Tensor(newShape, data);
    }

    public String shapeString() {
        return Arrays.toString(shape);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Tensor t && Arrays.equals(shape, t.shape) && data.equals(t.data);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(shape);
    }

    @Override
    public String toString() {
        return "Tensor" + shapeString();
    }
}
