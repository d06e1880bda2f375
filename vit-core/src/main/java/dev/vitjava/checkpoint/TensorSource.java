package dev.vitjava.checkpoint;

import dev.vitjava.VitException;
import dev.vitjava.tensor.Tensor;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * A checkpoint's tensors, whatever the file format: names, element types, shapes and float32 data. The model
 * loader and naming detection see only this; each format (safetensors, sharded safetensors, PyTorch zip pickles,
 * JAX .npz) implements it. Sources are opened by {@link Checkpoints#open}.
 */
public interface TensorSource extends AutoCloseable {

    /** One tensor as the file describes it. */
    record Info(String name, DType dtype, int[] shape) {
        public Info {
            shape = shape.clone();
        }

        @Override
        public int[] shape() {
            return shape.clone();
        }

        public long numel() {
            return Tensor.numel(shape);
        }

        public String shapeString() {
            return Arrays.toString(shape);
        }
    }

    /** The file (or index file) the tensors come from. */
    Path path();

    /** The format in words, for {@code vit inspect}: "safetensors", "PyTorch zip pickle", ... */
    String format();

    /** Every tensor in file order. */
    Map<String, Info> tensors();

    /** A tensor as float32 (converted from F16, BF16 or F64); the name must be one of {@link #tensors()}. */
    Tensor tensor(String name);

    /** What the reader found beyond the tensors and what it used or skipped, one line each. */
    default List<String> notes() {
        return List.of();
    }

    default boolean contains(String name) {
        return tensors().containsKey(name);
    }

    default Info info(String name) {
        Info i = tensors().get(name);
        if (i == null) {
            throw new VitException(path() + ": missing tensor '" + Checkpoints.shown(name) + "'");
        }
        return i;
    }

    @Override
    void close();
}
