package dev.vitjava.spark;

import dev.vitjava.VitException;
import dev.vitjava.cli.ModelSpec;
import dev.vitjava.engine.BatchRunner;
import dev.vitjava.image.ImageDecoder;
import java.io.Serializable;

/**
 * What a job runs and how; travels to the executors with each task.
 *
 * @param model     the model, resolved on each executor (a path every executor can read, or a hub id that each
 *                  executor downloads into its own cache once)
 * @param backend   the engine's backend ({@code cpu} by default)
 * @param threads   engine threads per executor; 0: the executor's cores
 * @param batch     images per forward pass
 * @param topK      classes kept per image by {@code classify}
 * @param maxPixels the decoder's decompression-bomb limit, as {@code vit classify --max-pixels}
 */
public record JobOptions(ModelSpec model, String backend, int threads, int batch, int topK, long maxPixels)
        implements Serializable {

    public JobOptions {
        if (batch < 1 || batch > BatchRunner.MAX_BATCH) {
            throw new VitException("--batch must be between 1 and " + BatchRunner.MAX_BATCH + ", not " + batch);
        }
        if (topK < 1) {
            throw new VitException("--top-k must be at least 1, not " + topK);
        }
        if (threads < 0) {
            throw new VitException("--threads must be 0 (the executor's cores) or more, not " + threads);
        }
        if (maxPixels <= 0) {
            throw new VitException("--max-pixels must be positive");
        }
    }

    /** The bundled demo model on the cpu backend, batches of 16, top 5: {@code vit classify}'s defaults. */
    public static JobOptions defaults() {
        return new JobOptions(ModelSpec.of(null), "cpu", 0, 16, 5, ImageDecoder.DEFAULT_MAX_PIXELS);
    }

    public JobOptions withModel(ModelSpec m) {
        return new JobOptions(m, backend, threads, batch, topK, maxPixels);
    }

    public JobOptions withBackend(String b) {
        return new JobOptions(model, b, threads, batch, topK, maxPixels);
    }

    public JobOptions withThreads(int t) {
        return new JobOptions(model, backend, t, batch, topK, maxPixels);
    }

    public JobOptions withBatch(int b) {
        return new JobOptions(model, backend, threads, b, topK, maxPixels);
    }

    public JobOptions withTopK(int k) {
        return new JobOptions(model, backend, threads, batch, k, maxPixels);
    }
}
