package dev.vitjava.cli;

import dev.vitjava.VitException;
import dev.vitjava.checkpoint.LoadedModel;
import dev.vitjava.engine.BatchRunner;
import dev.vitjava.engine.InferenceEngine;
import dev.vitjava.engine.Trace;
import dev.vitjava.engine.TraceRequest;
import dev.vitjava.image.ImageDecoder;
import dev.vitjava.image.Preprocessing;
import dev.vitjava.tensor.Tensor;
import dev.vitjava.model.ViTConfig;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** Feature extraction: one embedding per image, as timm's forward_features / forward_head(pre_logits=True). */
@Command(name = "embed", mixinStandardHelpOptions = true,
        description = {"Write image embeddings (features for retrieval and clustering) to a file.",
            "Pools: cls     the pre-logits, what the classifier head sees (N, D);",
            "       mean    the mean of the normalised patch tokens (N, D);",
            "       tokens  every normalised token, the class token first (N, T, D).",
            "Formats (default: from the --output extension): safetensors (key",
            "'embeddings', the file list in the metadata), npy, csv (file,e0,e1,...),",
            "jsonl ({\"file\", \"embedding\"} per line). Rows are written as batches",
            "finish; the file appears when complete. Unreadable images are reported and",
            "skipped (exit 1)."})
final class EmbedCommand implements Callable<Integer> {

    enum Pool { cls, mean, tokens }

    @Spec
    CommandSpec spec;

    @Mixin
    ModelOptions modelOptions;

    @Mixin
    EngineOptionsMixin engineOptions;

    @Mixin
    PreprocessOptions preprocessOptions;

    @Parameters(arity = "1..*", paramLabel = "PATH", description = "Image files or directories.")
    List<Path> paths;

    @Option(names = {"-o", "--output"}, required = true, paramLabel = "FILE", description = "The output file.")
    Path output;

    @Option(names = "--format", paramLabel = "FMT",
            description = "Output format: ${COMPLETION-CANDIDATES} (default: from the extension).")
    EmbeddingWriter.Format format;

    @Option(names = "--pool", paramLabel = "POOL", defaultValue = "cls",
            description = "What to keep per image: ${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE}).")
    Pool pool;

    @Option(names = "--normalize", description = "Scale every vector (every token with --pool tokens) to unit length.")
    boolean normalize;

    @Option(names = "--batch", paramLabel = "B", defaultValue = "16",
            description = "Images per batch (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = {"-q", "--quiet"}, description = "No progress bar.")
    boolean quiet;

    @Override
    public Integer call() {
        if (batch < 1) {
            throw new VitException("--batch must be at least 1, not " + batch);
        }
        EmbeddingWriter.Format fmt = format != null ? format : EmbeddingWriter.Format.of(output);
        List<Path> files = ClassifyCommand.expand(paths, spec.commandLine().getErr());
        engineOptions.prepare();
        LoadedModel model = modelOptions.load();
        ViTConfig c = model.model().config();
        // the tokens timm's forward_features returns: after the final norm, or the last block's when there is none
        String tokensKey = model.model().weights().norm() != null ? Trace.TOKENS_NORMED : Trace.blockOut(c.depth() - 1);
        Preprocessing preprocessing = preprocessOptions.forModel(model);
        ImageDecoder decoder = preprocessOptions.decoder();
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        Map<String, String> metadata = new LinkedHashMap<>();
        metadata.put("pool", pool.name());
        metadata.put("normalize", Boolean.toString(normalize));
        metadata.put("model", modelOptions.model != null ? modelOptions.model : "demo");
        int[] failures = {0};
        EmbeddingWriter[] writer = {null};
        try (InferenceEngine engine = engineOptions.create(model.model());
             Progress progress = new Progress("embed", files.size(), quiet)) {
            new BatchRunner(engine, preprocessing, decoder.maxPixels(), batch).run(files.size(),
                    i -> decoder.decode(files.get(i), preprocessing.mode()), i -> files.get(i).toString(),
                    pool == Pool.cls ? TraceRequest.NONE : TraceRequest.keys(List.of(tokensKey)),
                    (i, result, row, error) -> {
                        if (error != null) {
                            failures[0]++;
                            err.println("vit: " + error.getMessage());
                            return;
                        }
                        float[] values = pooled(result, row, tokensKey, c.numPrefixTokens());
                        int[] shape = rowShape(result, tokensKey);
                        if (writer[0] == null) {
                            writer[0] = EmbeddingWriter.open(output, fmt, shape, metadata);
                        } else if (!Arrays.equals(writer[0].rowShape, shape)) {
                            throw new VitException(files.get(i) + ": gives " + shape[0] + " tokens where the"
                                    + " images before gave " + writer[0].rowShape[0] + ": --pool tokens needs one"
                                    + " input size (give --img-size)");
                        }
                        if (normalize) {
                            normalizeRows(values, shape[shape.length - 1]);
                        }
                        writer[0].write(files.get(i).toString(), values, 0);
                    }, progress::advance);
            if (writer[0] == null) {
                throw new VitException("no image could be read: nothing written to " + output);
            }
            writer[0].finish();
        } finally {
            if (writer[0] != null) {
                writer[0].close();
            }
        }
        int[] shape = writer[0].rowShape;
        out.println("wrote " + writer[0].files.size() + " embeddings of shape " + Arrays.toString(shape) + " ("
                + pool + (normalize ? ", normalized" : "") + ") to " + output);
        out.flush();
        return failures[0] == 0 ? 0 : Main.EXIT_FAILURE;
    }

    private int[] rowShape(InferenceEngine.Result result, String tokensKey) {
        if (pool == Pool.cls) {
            return new int[] {result.preLogits().dim(1)};
        }
        Tensor t = result.trace().get(tokensKey);
        return pool == Pool.mean ? new int[] {t.dim(2)} : new int[] {t.dim(1), t.dim(2)};
    }

    /** One image's vector (or token rows) out of a batch result. */
    private float[] pooled(InferenceEngine.Result result, int row, String tokensKey, int prefix) {
        if (pool == Pool.cls) {
            int d = result.preLogits().dim(1);
            float[] v = new float[d];
            result.preLogits().data().get(row * d, v, 0, d);
            return v;
        }
        Tensor t = result.trace().get(tokensKey);
        int tokens = t.dim(1);
        int d = t.dim(2);
        float[] rows = new float[tokens * d];
        t.data().get(row * tokens * d, rows, 0, tokens * d);
        if (pool == Pool.tokens) {
            return rows;
        }
        float[] mean = new float[d];
        for (int j = 0; j < d; j++) {
            double s = 0;
            for (int r = prefix; r < tokens; r++) {
                s += rows[r * d + j];
            }
            mean[j] = (float) (s / (tokens - prefix));
        }
        return mean;
    }

    /** Each run of {@code d} values scaled to unit L2 norm (a zero vector stays zero). */
    static void normalizeRows(float[] values, int d) {
        for (int r = 0; r < values.length; r += d) {
            double s = 0;
            for (int j = 0; j < d; j++) {
                s += (double) values[r + j] * values[r + j];
            }
            double inv = s > 0 ? 1 / Math.sqrt(s) : 0;
            for (int j = 0; j < d; j++) {
                values[r + j] = (float) (values[r + j] * inv);
            }
        }
    }
}
