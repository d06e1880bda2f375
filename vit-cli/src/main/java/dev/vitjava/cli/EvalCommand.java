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
import dev.vitjava.image.Preprocessing;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.Writer;
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
            "DATASET is an ImageFolder directory (one sub-directory per class) or an IDX",
            "images file (MNIST format, gzipped or not; labels found beside it as",
            "...-labels-idx1-ubyte[.gz], or given with --labels-file).",
            "ImageFolder classes are the model's labels of the same name when every folder",
            "name is one (case-insensitive); otherwise they are matched by sorted position,",
            "as torchvision's ImageFolder numbers them. The report says which."})
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

    @Option(names = {"-b", "--batch", "--batch-size"}, paramLabel = "B", defaultValue = "64",
            converter = OptionValues.Positive.class, description = "Images per batch (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--limit", paramLabel = "N", description = "Evaluate only the first N samples.")
    Integer limit;

    @Option(names = {"-q", "--quiet"}, description = "No progress bar.")
    boolean quiet;

    /** How dataset classes became model classes: name, position (ImageFolder) or index (IDX labels). */
    private String matching;

    @Override
    public Integer call() throws IOException {
        if (batch < 1) {
            throw new VitException("--batch must be at least 1, not " + batch);
        }
        engineOptions.prepare();
        LoadedModel model = modelOptions.load();
        Preprocessing preprocessing = preprocessOptions.forModel(model);
        boolean folder = Files.isDirectory(dataset);
        Dataset data = folder ? new ImageFolderDataset(dataset, preprocessOptions.reader(preprocessing))
                : IdxDataset.open(dataset, labelsFile, model.labels());
        int numClasses = model.model().config().numClasses();
        int[] targets = folder ? byName(data.classNames(), model.labels()) : null;
        matching = targets != null ? "name" : folder ? "position" : "index";
        if (targets == null) {
            if (folder) {
                warnIfNamesDisagree(data.classNames(), model.labels());
            }
            int maxLabel = 0;
            for (int i = 0; i < data.size(); i++) {
                maxLabel = Math.max(maxLabel, data.label(i));
            }
            if (maxLabel >= numClasses) {
                throw new VitException(dataset + ": label " + maxLabel + " is beyond the model's " + numClasses
                        + " classes");
            }
        }
        int count = limit == null ? data.size() : Math.max(0, Math.min(limit, data.size()));
        Evaluation eval = targets != null ? new Evaluation(data.classNames(), targets, numClasses)
                : new Evaluation(data.classNames(), numClasses);
        int[] failures = {0};
        PrintWriter err = spec.commandLine().getErr();
        try (InferenceEngine engine = engineOptions.create(model.model());
             Progress progress = new Progress("eval", count, quiet);
             Writer preds = predictions == null ? Writer.nullWriter() : Files.newBufferedWriter(predictions)) {
            preds.write("index,label,pred,prob\n");
            new BatchRunner(engine, preprocessing, batch).run(count, data::image, (i, probs, error) -> {
                if (error != null) {
                    failures[0]++;
                    err.println("vit: " + error.getMessage());
                    return;
                }
                List<Predictions.Ranked> top = Predictions.topK(probs, model.labels(), 5);
                eval.add(data.label(i), top.stream().mapToInt(Predictions.Ranked::index).toArray());
                try {
                    preds.write(i + "," + eval.target(data.label(i)) + "," + top.get(0).index() + ","
                            + top.get(0).prob() + "\n");
                } catch (IOException e) {
                    throw new VitException(predictions + ": cannot write: " + e.getMessage());
                }
            }, progress::advance);
        }
        PrintWriter out = spec.commandLine().getOut();
        if (format == Format.json) {
            out.println(json(eval, failures[0]));
        } else {
            text(out, eval, failures[0]);
        }
        return failures[0] == 0 ? 0 : Main.EXIT_FAILURE;
    }

    /**
     * Model class per folder when every folder name is exactly one model label (case-insensitive), else null.
     */
    private static int[] byName(List<String> folders, List<String> labels) {
        int[] targets = new int[folders.size()];
        for (int c = 0; c < folders.size(); c++) {
            targets[c] = -1;
            for (int m = 0; m < labels.size(); m++) {
                if (labels.get(m).equalsIgnoreCase(folders.get(c))) {
                    if (targets[c] >= 0) {
                        return null; // two labels of that name: ambiguous
                    }
                    targets[c] = m;
                }
            }
            if (targets[c] < 0) {
                return null;
            }
        }
        return targets;
    }

    /** Warns when a folder is named after a model label other than the class its position gives it. */
    private void warnIfNamesDisagree(List<String> folders, List<String> labels) {
        for (int c = 0; c < folders.size(); c++) {
            for (int m = 0; m < labels.size(); m++) {
                if (m != c && labels.get(m).equalsIgnoreCase(folders.get(c))) {
                    spec.commandLine().getErr().println("vit: warning: folder '" + folders.get(c) + "' is class " + c
                            + " by sorted position, but the model's class " + m + " is '" + labels.get(m) + "'; not"
                            + " every folder is named after a model label, so classes are matched by position");
                    return;
                }
            }
        }
    }

    private String json(Evaluation e, int failed) {
        ObjectNode o = new ObjectMapper().createObjectNode();
        o.put("dataset", dataset.toString()).put("count", e.count()).put("failed", failed)
                .put("top1", e.top1()).put("top5", e.top5()).put("top1_correct", e.top1Correct())
                .put("class_matching", matching);
        ArrayNode classes = o.putArray("per_class");
        for (int c = 0; c < e.classNames().size(); c++) {
            classes.addObject().put("index", c).put("name", e.classNames().get(c)).put("model_index", e.target(c))
                    .put("count", e.support(c))
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
        out.printf(Locale.ROOT, "dataset  %s%n", dataset);
        out.printf(Locale.ROOT, "images   %d%s%n", e.count(), failed > 0 ? " (" + failed + " unreadable, skipped)" : "");
        out.printf(Locale.ROOT, "classes  %s%n", switch (matching) {
            case "name" -> "matched to the model's labels by folder name";
            case "position" -> "matched by sorted folder position (torchvision's ImageFolder order)";
            default -> "the IDX label values";
        });
        out.printf(Locale.ROOT, "top-1    %.2f %% (%d/%d)%n", 100 * e.top1(), e.top1Correct(), e.count());
        out.printf(Locale.ROOT, "top-5    %.2f %%%n%n", 100 * e.top5());
        int width = Math.max(5, e.classNames().stream().mapToInt(String::length).max().orElse(5));
        out.printf(Locale.ROOT, "%-" + width + "s  %8s  %6s%n", "class", "accuracy", "count");
        for (int c = 0; c < e.classNames().size(); c++) {
            out.printf(Locale.ROOT, "%-" + width + "s  %7.2f%%  %6d%n", e.classNames().get(c),
                    100 * e.classAccuracy(c), e.support(c));
        }
        if (confusion) {
            out.printf("%nconfusion matrix (rows: true class, columns: predicted class index)%n");
            for (int c = 0; c < e.confusion().length; c++) {
                StringBuilder row = new StringBuilder(String.format(Locale.ROOT, "%-" + width + "s", e.classNames().get(c)));
                for (long v : e.confusion()[c]) {
                    row.append(String.format(Locale.ROOT, " %5d", v));
                }
                out.println(row);
            }
        }
    }
}
