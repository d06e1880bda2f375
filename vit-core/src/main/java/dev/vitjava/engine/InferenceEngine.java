package dev.vitjava.engine;

import dev.vitjava.model.Tensor;
import java.util.Map;

/**
 * A backend that runs a ViT forward pass. Every backend computes the same function as
 * {@link ReferenceEngine}, the scalar oracle, and is tested against it.
 */
public interface InferenceEngine extends AutoCloseable {

    /** The backend's name, as given to {@code --backend}. */
    String name();

    /**
     * Runs a batch.
     *
     * @param pixels normalised images, (N, C, H, W) float32; H and W multiples of the patch size
     * @param trace  which intermediates to record ({@link Trace} keys)
     */
    Result forward(Tensor pixels, TraceRequest trace);

    /** Runs a batch, recording every intermediate or none. */
    default Result forward(Tensor pixels, boolean trace) {
        return forward(pixels, trace ? TraceRequest.ALL : TraceRequest.NONE);
    }

    /** Releases threads or device memory. */
    @Override
    default void close() {
    }

    /**
     * @param logits    (N, classes)
     * @param preLogits (N, D): the pooled, normalised features the head sees
     * @param trace     the requested intermediates by {@link Trace} key, in forward order
     */
    record Result(Tensor logits, Tensor preLogits, Map<String, Tensor> trace) {
    }
}
