package dev.vitjava.cli;

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
import dev.vitjava.io.Printable;
import dev.vitjava.io.SafeFiles;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
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

    @Mixin
    EvalReport.Options report;

    @Option(names = {"-b", "--batch", "--batch-size"}, paramLabel = "B", defaultValue = "64",
            converter = OptionValues.BatchSize.class, description = "Images per batch (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--limit", paramLabel = "N", description = "Evaluate only the first N samples.")
    Integer limit;

    @Option(names = {"-q", "--quiet"}, description = "No progress bar.")
    boolean quiet;

    @Override
    public Integer call() throws IOException {
        if (limit != null && limit < 1) {
            throw new ParameterException(spec.commandLine(), "--limit must be at least 1, not " + limit);
        }
        if (predictions != null) {
            SafeFiles.requireWritableTarget(predictions); // before the run, not after it
        }
        engineOptions.prepare();
        LoadedModel model = modelOptions.load();
        Preprocessing preprocessing = preprocessOptions.forModel(model);
        boolean folder = Files.isDirectory(dataset);
        Dataset data = folder ? new ImageFolderDataset(dataset, preprocessOptions.reader(preprocessing))
                : IdxDataset.open(dataset, labelsFile, model.labels());
        int numClasses = model.model().config().numClasses();
        int[] targets = folder ? Evaluation.targetsByName(data.classNames(), model.labels()) : null;
        String matching = targets != null ? "name" : folder ? "position" : "index";
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
        int count = limit == null ? data.size() : Math.min(limit, data.size());
        Evaluation eval = targets != null ? new Evaluation(data.classNames(), targets, numClasses)
                : new Evaluation(data.classNames(), numClasses);
        PrintWriter err = spec.commandLine().getErr();
        List<String> problems = data instanceof ImageFolderDataset images ? images.problems() : List.of();
        problems.forEach(p -> err.println("vit: " + p));
        int[] failures = {problems.size()};
        StringBuilder rows = new StringBuilder("index,label,pred,prob\n");
        try (InferenceEngine engine = engineOptions.create(model.model());
             Progress progress = new Progress("eval", count, quiet)) {
            new BatchRunner(engine, preprocessing, preprocessOptions.maxPixels, batch).run(count, data::image,
                    data::name,
                    (i, probs, error) -> {
                        if (error != null) {
                            failures[0]++;
                            err.println("vit: " + Printable.escape(error.getMessage()));
                            return;
                        }
                        List<Predictions.Ranked> top = Predictions.topK(probs, model.labels(), 5);
                        eval.add(data.label(i), top.stream().mapToInt(Predictions.Ranked::index).toArray());
                        rows.append(i).append(',').append(eval.target(data.label(i))).append(',')
                                .append(top.get(0).index()).append(',').append(top.get(0).prob()).append('\n');
                    }, progress::advance);
        }
        if (predictions != null) {
            SafeFiles.writeAtomically(predictions, o -> o.write(rows.toString().getBytes(StandardCharsets.UTF_8)));
        }
        report.print(spec.commandLine().getOut(), dataset.toString(), eval, failures[0], matching);
        return failures[0] == 0 ? 0 : Main.EXIT_FAILURE;
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
}
