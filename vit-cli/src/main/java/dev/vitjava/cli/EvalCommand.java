package dev.vitjava.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.vitjava.VitException;
import dev.vitjava.checkpoint.LoadedModel;
import dev.vitjava.dataset.Dataset;
import dev.vitjava.dataset.Evaluation;
import dev.vitjava.dataset.IdxDataset;
import dev.vitjava.dataset.ImageFolderDataset;
import dev.vitjava.engine.BatchRunner;
import dev.vitjava.engine.InferenceEngine;
import dev.vitjava.engine.Predictions;
import dev.vitjava.image.ImageDecoder;
import dev.vitjava.image.Preprocessing;
import dev.vitjava.io.Printable;
import dev.vitjava.io.SafeFiles;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** Accuracy over a labelled dataset. */
@Command(name = "eval", mixinStandardHelpOptions = true,
        description = {"Measure top-1/top-5 accuracy over a labelled dataset.",
            "DATASET is an ImageFolder directory (one sub-directory per class, sorted as torchvision sorts them)",
            "or an IDX images file (MNIST format, gzipped or not; labels found beside it as",
            "...-labels-idx1-ubyte[.gz], or given with --labels-file)."})
final class EvalCommand implements Callable<Integer> {

    enum Format { text, json }

    @Spec
    CommandSpec spec;

    @Mixin
    ModelOptions modelOptions;

    @Mixin
    EngineOptionsMixin engineOptions;

    @Mixin
    PreprocessOptions preprocessOptions;

    @Parameters(index = "0", paramLabel = "DATASET", description = "ImageFolder directory or IDX images file.")
    Path dataset;

    @Option(names = "--labels-file", paramLabel = "FILE", description = "IDX labels file for an IDX images file.")
    Path labelsFile;

    @Option(names = "--predictions", paramLabel = "FILE", description = "Write index,label,pred,prob rows (CSV).")
    Path predictions;

    @Option(names = "--format", paramLabel = "FMT", defaultValue = "text",
            description = "Report format: ${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE}).")
    Format format;

    @Option(names = "--confusion", description = "Also print the confusion matrix (rows: true, columns: predicted).")
    boolean confusion;

    @Option(names = "--batch", paramLabel = "B", defaultValue = "64", description = "Images per batch (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--limit", paramLabel = "N", description = "Evaluate only the first N samples.")
    Integer limit;

    @Option(names = {"-q", "--quiet"}, description = "No progress bar.")
    boolean quiet;

    @Override
    public Integer call() throws IOException {
        if (batch < 1 || batch > BatchRunner.MAX_BATCH) {
            throw new VitException("--batch must be between 1 and " + BatchRunner.MAX_BATCH + ", not " + batch);
        }
        if (limit != null && limit < 1) {
            throw new VitException("--limit must be at least 1, not " + limit);
        }
        if (predictions != null) {
            SafeFiles.requireWritableTarget(predictions); // before the run, not after it
        }
        engineOptions.prepare();
        LoadedModel model = modelOptions.load();
        Preprocessing preprocessing = preprocessOptions.forModel(model);
        ImageDecoder decoder = preprocessOptions.decoder();
        Dataset data = Files.isDirectory(dataset)
                ? new ImageFolderDataset(dataset, f -> decoder.decode(f, preprocessing.mode()))
                : IdxDataset.open(dataset, labelsFile, model.labels());
        int numClasses = model.model().config().numClasses();
        int maxLabel = 0;
        for (int i = 0; i < data.size(); i++) {
            maxLabel = Math.max(maxLabel, data.label(i));
        }
        if (maxLabel >= numClasses) {
            throw new VitException(dataset + ": label " + maxLabel + " is beyond the model's " + numClasses + " classes");
        }
        int count = limit == null ? data.size() : Math.min(limit, data.size());
        Evaluation eval = new Evaluation(data.classNames(), numClasses);
        PrintWriter err = spec.commandLine().getErr();
        List<String> problems = data instanceof ImageFolderDataset folder ? folder.problems() : List.of();
        problems.forEach(p -> err.println("vit: " + p));
        int[] failures = {problems.size()};
        StringBuilder rows = new StringBuilder("index,label,pred,prob\n");
        try (InferenceEngine engine = engineOptions.create(model.model());
             Progress progress = new Progress("eval", count, quiet)) {
            new BatchRunner(engine, preprocessing, decoder.maxPixels(), batch).run(count, data::image, data::name,
                    (i, probs, error) -> {
                        if (error != null) {
                            failures[0]++;
                            err.println("vit: " + Printable.escape(error.getMessage()));
                            return;
                        }
                        List<Predictions.Ranked> top = Predictions.topK(probs, model.labels(), 5);
                        eval.add(data.label(i), top.stream().mapToInt(Predictions.Ranked::index).toArray());
                        rows.append(i).append(',').append(data.label(i)).append(',').append(top.get(0).index())
                                .append(',').append(top.get(0).prob()).append('\n');
                    }, progress::advance);
        }
        if (predictions != null) {
            SafeFiles.writeAtomically(predictions, o -> o.write(rows.toString().getBytes(StandardCharsets.UTF_8)));
        }
        PrintWriter out = spec.commandLine().getOut();
        if (format == Format.json) {
            out.println(json(eval, failures[0]));
        } else {
            text(out, eval, failures[0]);
        }
        return failures[0] == 0 ? 0 : Main.EXIT_FAILURE;
    }

    private String json(Evaluation e, int failed) {
        ObjectNode o = new ObjectMapper().createObjectNode();
        o.put("dataset", dataset.toString()).put("count", e.count()).put("failed", failed)
                .put("top1", e.top1()).put("top5", e.top5()).put("top1_correct", e.top1Correct());
        ArrayNode classes = o.putArray("per_class");
        for (int c = 0; c < e.classNames().size(); c++) {
            classes.addObject().put("index", c).put("name", e.classNames().get(c)).put("count", e.support(c))
                    .put("accuracy", e.classAccuracy(c));
        }
        if (confusion) {
            ArrayNode m = o.putArray("confusion");
            for (long[] row : e.confusion()) {
                ArrayNode r = m.addArray();
                for (long v : row) {
                    r.add(v);
                }
            }
        }
        return o.toString();
    }

    private void text(PrintWriter out, Evaluation e, int failed) {
        out.printf(Locale.ROOT, "dataset  %s%n", Printable.escape(dataset.toString()));
        out.printf(Locale.ROOT, "images   %d%s%n", e.count(), failed > 0 ? " (" + failed + " unreadable, skipped)" : "");
        out.printf(Locale.ROOT, "top-1    %.2f %% (%d/%d)%n", 100 * e.top1(), e.top1Correct(), e.count());
        out.printf(Locale.ROOT, "top-5    %.2f %%%n%n", 100 * e.top5());
        int width = Math.max(5, e.classNames().stream().mapToInt(String::length).max().orElse(5));
        out.printf(Locale.ROOT, "%-" + width + "s  %8s  %6s%n", "class", "accuracy", "count");
        for (int c = 0; c < e.classNames().size(); c++) {
            out.printf(Locale.ROOT, "%-" + width + "s  %7.2f%%  %6d%n", Printable.escape(e.classNames().get(c)),
                    100 * e.classAccuracy(c), e.support(c));
        }
        if (confusion) {
            out.printf("%nconfusion matrix (rows: true class, columns: predicted class index)%n");
            for (int c = 0; c < e.confusion().length; c++) {
                StringBuilder row = new StringBuilder(String.format(Locale.ROOT, "%-" + width + "s", Printable.escape(e.classNames().get(c))));
                for (long v : e.confusion()[c]) {
                    row.append(String.format(Locale.ROOT, " %5d", v));
                }
                out.println(row);
            }
        }
    }
}
