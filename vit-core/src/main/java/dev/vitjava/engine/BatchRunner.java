package dev.vitjava.engine;

import dev.vitjava.VitException;
import dev.vitjava.image.DecodedImage;
import dev.vitjava.image.Preprocessing;
import dev.vitjava.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.IntConsumer;
import java.util.function.IntFunction;

/**
 * Runs a sequence of images: decode, preprocess, batch equal-sized inputs, forward; reports each item's result
 * (class probabilities, or its batch's result and trace), or its error, in input order. A bad item never costs the
 * others their result.
 */
public final class BatchRunner {

    /** Receives each item's outcome in order: probabilities, or null and the error. */
    public interface Sink {
        void accept(int item, double[] probs, VitException error);
    }

    /** More images per batch buy nothing and only hold more preprocessed inputs in memory. */
    public static final int MAX_BATCH = 1024;

    /** Receives each item's outcome in order: its batch's result and its row there, or null, -1 and the error. */
    public interface ResultSink {
        void accept(int item, InferenceEngine.Result result, int row, VitException error);
    }

    private final InferenceEngine engine;
    private final Preprocessing preprocessing;
    private final long maxPixels;
    private final int batchSize;

    /**
     * @param maxPixels the pixel limit, which also bounds what the resize allocates
     * @param batchSize at most {@link #MAX_BATCH}
     */
    public BatchRunner(InferenceEngine engine, Preprocessing preprocessing, long maxPixels, int batchSize) {
        if (batchSize < 1 || batchSize > MAX_BATCH) {
            throw new VitException("batch size must be between 1 and " + MAX_BATCH + ", not " + batchSize);
        }
        this.engine = engine;
        this.preprocessing = preprocessing;
        this.maxPixels = maxPixels;
        this.batchSize = batchSize;
    }

    /**
     * Classifies every item; logits that are not finite (a NaN weight) make the item a failed one.
     *
     * @param images   decodes item i (its errors, whatever they are, make it a failed item)
     * @param names    how items are named in errors (their file)
     * @param progress told how many items are done after each batch (and each failed item)
     */
    public void run(int count, IntFunction<DecodedImage> images, IntFunction<String> names, Sink sink,
            IntConsumer progress) {
        run(count, images, names, TraceRequest.NONE, (item, result, row, error) -> {
            if (error != null) {
                sink.accept(item, null, error);
            } else if (!finite(result.logits(), row)) {
                sink.accept(item, null, new VitException(names.apply(item) + ": the model gave non-finite "
                        + "logits (NaN or infinity): check its weights and the --mean/--std values"));
            } else {
                sink.accept(item, Predictions.softmax(result.logits(), row), null);
            }
        }, progress);
    }

    /** Runs every item, recording what {@code trace} asks for. */
    public void run(int count, IntFunction<DecodedImage> images, IntFunction<String> names, TraceRequest trace,
            ResultSink sink, IntConsumer progress) {
        if (trace.isNone() && count > 0) {
            warmUp(Math.min(batchSize, count));
        }
        List<Integer> pending = new ArrayList<>();
        List<Tensor> inputs = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            Tensor x;
            DecodedImage image = null;
            try {
                image = images.apply(i);
                x = preprocessing.toTensor(image, maxPixels);
            } catch (RuntimeException | OutOfMemoryError | StackOverflowError e) {
                flush(pending, inputs, names, trace, sink, progress); // keep the output in input order
                sink.accept(i, null, -1, itemError(names.apply(i), e, image != null));
                progress.accept(1);
                continue;
            }
            if (!inputs.isEmpty() && !Arrays.equals(inputs.get(0).shape(), x.shape())) {
                flush(pending, inputs, names, trace, sink, progress);
            }
            pending.add(i);
            inputs.add(x);
            if (inputs.size() == batchSize) {
                flush(pending, inputs, names, trace, sink, progress);
            }
        }
        flush(pending, inputs, names, trace, sink, progress);
    }

    /**
     * Lets the engine prepare for this run's batches before the first image is decoded ({@link
     * InferenceEngine#warmUp}: the tornado backend compiles their shape and moves the weights to its device), when
     * the preprocessing gives every image the same size. Whatever fails here is left to the batches, which fail the
     * same way and report it per image, as they would without the warm-up.
     */
    private void warmUp(int batch) {
        int height = preprocessing.outputHeight();
        int width = preprocessing.outputWidth();
        if (height > 0 && width > 0) {
            try {
                engine.warmUp(batch, height, width);
            } catch (RuntimeException | OutOfMemoryError e) {
                // reported by the first batch
            }
        }
    }

    /**
     * A failure of one item, whatever it was, as a one-line error naming the item (the decoder's errors name it
     * already, the preprocessing's do not).
     */
    private static VitException itemError(String name, Throwable e, boolean decoded) {
        if (e instanceof VitException v) {
            return decoded ? new VitException(name + ": " + v.getMessage(), v) : v;
        }
        String what = e instanceof OutOfMemoryError ? "out of memory" : e.getClass().getSimpleName()
                + (e.getMessage() != null ? ": " + e.getMessage() : "");
        return new VitException(name + ": cannot process (" + what + ")", e);
    }

    private void flush(List<Integer> pending, List<Tensor> inputs, IntFunction<String> names, TraceRequest trace,
            ResultSink sink, IntConsumer progress) {
        if (inputs.isEmpty()) {
            return;
        }
        int[] chw = inputs.get(0).shape();
        int size = inputs.get(0).size();
        InferenceEngine.Result result;
        try {
            float[] batch = new float[inputs.size() * size];
            for (int i = 0; i < inputs.size(); i++) {
                inputs.get(i).data().get(0, batch, i * size, size);
            }
            result = engine.forward(Tensor.of(batch, inputs.size(), chw[0], chw[1], chw[2]), trace);
        } catch (RuntimeException | OutOfMemoryError e) {
            result = null;
            String what = e instanceof VitException ? e.getMessage() : e instanceof OutOfMemoryError
                    ? "out of memory (try a smaller --batch)" : e.toString();
            for (int item : pending) {
                sink.accept(item, null, -1, new VitException(names.apply(item) + ": inference failed: " + what, e));
            }
        }
        if (result != null) {
            for (int i = 0; i < pending.size(); i++) {
                sink.accept(pending.get(i), result, i, null);
            }
        }
        progress.accept(pending.size());
        pending.clear();
        inputs.clear();
    }

    /** Whether row {@code row} of (N, classes) logits is all finite. */
    private static boolean finite(Tensor logits, int row) {
        int n = logits.dim(1);
        for (int i = row * n; i < (row + 1) * n; i++) {
            if (!Float.isFinite(logits.get(i))) {
                return false;
            }
        }
        return true;
    }
}
