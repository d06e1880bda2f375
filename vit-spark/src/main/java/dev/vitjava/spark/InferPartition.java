package dev.vitjava.spark;

import dev.vitjava.VitException;
import dev.vitjava.engine.BatchRunner;
import dev.vitjava.engine.InferenceEngine;
import dev.vitjava.engine.Predictions;
import dev.vitjava.engine.TraceRequest;
import dev.vitjava.image.DecodedImage;
import dev.vitjava.image.ImageDecoder;
import dev.vitjava.tensor.Tensor;
import java.io.Serializable;
import java.net.URI;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.util.LongAccumulator;
import scala.collection.immutable.ArraySeq;
import scala.jdk.javaapi.CollectionConverters;

/**
 * Runs one partition of {@code (path, content)} rows through this executor's engine, {@code batch} images at a time,
 * with the decoding, preprocessing and batching of {@code vit classify} ({@link BatchRunner}): one output row per
 * input row, with {@code error} set instead of a result for a file that cannot be read.
 */
final class InferPartition implements MapPartitionsFunction<Row, Row> {

    /** What each row reports. */
    enum Output { CLASSIFY, EMBED }

    /** What the executors report back to the driver. */
    record Counters(LongAccumulator enginesCreated, LongAccumulator images, LongAccumulator unreadable)
            implements Serializable {
    }

    private final JobOptions options;
    private final Output output;
    private final Counters counters;

    InferPartition(JobOptions options, Output output, Counters counters) {
        this.options = options;
        this.output = output;
        this.counters = counters;
    }

    @Override
    public Iterator<Row> call(Iterator<Row> input) {
        ExecutorModel model = ExecutorModel.get(options, counters.enginesCreated());
        ImageDecoder decoder = new ImageDecoder(options.maxPixels());
        BatchRunner runner = new BatchRunner(model.engine, model.preprocessing, options.maxPixels(), options.batch());
        List<String> labels = model.loaded.labels();
        ArrayDeque<Row> ready = new ArrayDeque<>();
        // One batch of the partition in memory at a time: Spark hands rows over lazily and takes them the same way.
        return new Iterator<>() {
            @Override
            public boolean hasNext() {
                if (ready.isEmpty() && input.hasNext()) {
                    List<String> paths = new ArrayList<>();
                    List<byte[]> contents = new ArrayList<>();
                    while (paths.size() < options.batch() && input.hasNext()) {
                        Row r = input.next();
                        paths.add(r.getString(0));
                        contents.add((byte[]) r.get(1));
                    }
                    runner.run(paths.size(), i -> decode(decoder, contents.get(i), paths.get(i), model),
                            paths::get, TraceRequest.NONE,
                            (i, batch, row, error) -> ready.add(row(paths.get(i), batch, row, error, labels)),
                            done -> { });
                    counters.images().add(paths.size());
                }
                return !ready.isEmpty();
            }

            @Override
            public Row next() {
                if (!hasNext()) {
                    throw new NoSuchElementException();
                }
                return ready.poll();
            }
        };
    }

    /**
     * The CLI's decoding. The decoder reports a bad file as a {@link VitException}; anything else it throws would be
     * a bug, but one file must not fail a job over millions, so it becomes that file's error too. A local file
     * without content ({@link ReadFiles} could not hold or read it) is decoded from its path, as the CLI reads it.
     */
    private static DecodedImage decode(ImageDecoder decoder, byte[] content, String path, ExecutorModel model) {
        try {
            if (content == null) {
                URI uri = new org.apache.hadoop.fs.Path(path).toUri();
                if (!"file".equals(uri.getScheme())) {
                    throw new VitException(path + ": cannot read");
                }
                return decoder.decode(java.nio.file.Path.of(uri), path).convert(model.preprocessing.mode());
            }
            return decoder.decode(content, path).convert(model.preprocessing.mode());
        } catch (RuntimeException e) {
            throw e instanceof VitException v ? v : new VitException(path + ": cannot decode: " + e, e);
        }
    }

    private Row row(String path, InferenceEngine.Result batch, int i, VitException error, List<String> labels) {
        if (error != null) {
            counters.unreadable().add(1);
            return RowFactory.create(path, null, error.getMessage());
        }
        return switch (output) {
            case CLASSIFY -> {
                List<Row> top = new ArrayList<>();
                double[] probs = Predictions.softmax(batch.logits(), i);
                for (Predictions.Ranked r : Predictions.topK(probs, labels, options.topK())) {
                    top.add(RowFactory.create(r.index(), r.label(), (float) r.prob()));
                }
                yield RowFactory.create(path, CollectionConverters.asScala(top).toSeq(), null); // Spark wants a Seq
            }
            case EMBED -> {
                Tensor features = batch.preLogits();
                float[] e = new float[features.dim(1)];
                features.data().get(i * e.length, e, 0, e.length);
                yield RowFactory.create(path, ArraySeq.unsafeWrapArray(e), null);
            }
        };
    }
}
