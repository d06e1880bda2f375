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

    /** Receives each item's outcome in order: its batch's result and its row there, or null, -1 and the error. */
    public interface ResultSink {
        void accept(int item, InferenceEngine.Result result, int row, VitException error);
    }

    private final InferenceEngine engine;
    private final Preprocessing preprocessing;
    private final int batchSize;

    public BatchRunner(InferenceEngine engine, Preprocessing preprocessing, int batchSize) {
        if (batchSize < 1) {
            throw new VitException("batch size must be at least 1, not " + batchSize);
        }
        this.engine = engine;
        this.preprocessing = preprocessing;
        this.batchSize = batchSize;
    }

    /**
     * Classifies every item.
     *
     * @param images   decodes item i (a {@link VitException} makes it a failed item)
     * @param progress told how many items are done after each batch (and each failed item)
     */
    public void run(int count, IntFunction<DecodedImage> images, Sink sink, IntConsumer progress) {
        run(count, images, TraceRequest.NONE, (item, result, row, error) -> sink.accept(item,
                result == null ? null : Predictions.softmax(result.logits(), row), error), progress);
    }

    /** Runs every item, recording what {@code trace} asks for. */
    public void run(int count, IntFunction<DecodedImage> images, TraceRequest trace, ResultSink sink,
            IntConsumer progress) {
        List<Integer> pending = new ArrayList<>();
        List<Tensor> inputs = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            Tensor x;
            try {
                x = preprocessing.toTensor(images.apply(i));
            } catch (VitException e) {
                flush(pending, inputs, trace, sink, progress); // keep the output in input order
                sink.accept(i, null, -1, e);
                progress.accept(1);
                continue;
            }
            if (!inputs.isEmpty() && !Arrays.equals(inputs.get(0).shape(), x.shape())) {
                flush(pending, inputs, trace, sink, progress);
            }
            pending.add(i);
            inputs.add(x);
            if (inputs.size() == batchSize) {
                flush(pending, inputs, trace, sink, progress);
            }
        }
        flush(pending, inputs, trace, sink, progress);
    }

    private void flush(List<Integer> pending, List<Tensor> inputs, TraceRequest trace, ResultSink sink,
            IntConsumer progress) {
        if (inputs.isEmpty()) {
            return;
        }
        int[] chw = inputs.get(0).shape();
        int size = inputs.get(0).size();
        float[] batch = new float[inputs.size() * size];
        for (int i = 0; i < inputs.size(); i++) {
            inputs.get(i).data().get(0, batch, i * size, size);
        }
        InferenceEngine.Result result = engine.forward(Tensor.of(batch, inputs.size(), chw[0], chw[1], chw[2]), trace);
        for (int i = 0; i < pending.size(); i++) {
            sink.accept(pending.get(i), result, i, null);
        }
        progress.accept(pending.size());
        pending.clear();
        inputs.clear();
    }
}
