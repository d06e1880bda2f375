package dev.vitjava.engine;

import dev.vitjava.tensor.Tensor;
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

    /**
     * Gets ready for untraced batches of up to {@code batch} images of {@code height} x {@code width}, so that the
     * first {@link #forward} of such a batch costs what the later ones do. A backend that compiles for a device and
     * keeps the weights there compiles its plan for that shape and moves the weights now (the tornado backend); the
     * others have nothing to do. A shape that {@code forward} would refuse is refused with the same error.
     */
    default void warmUp(int batch, int height, int width) {
    }

    /** Host threads a forward pass runs on, for reports (0 for an engine that runs on a device). */
    default int threads() {
        return 1;
    }

    /**
     * Runs {@code runs} untraced forward passes of {@code pixels}, timed one by one, and says where their time went
     * as far as this engine can tell: the cpu engine times its stages in these passes (a clock read per stage),
     * and a device engine whose profiler costs time profiles extra passes after the timed ones. This is what
     * {@code vit bench} measures with.
     */
    default Profile profile(Tensor pixels, int runs) {
        long[] wall = new long[runs];
        for (int i = 0; i < runs; i++) {
            long start = System.nanoTime();
            forward(pixels, TraceRequest.NONE);
            wall[i] = System.nanoTime() - start;
        }
        return new Profile(wall, Map.of(), null);
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
