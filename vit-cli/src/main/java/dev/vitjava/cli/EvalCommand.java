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
import dev.vitjava.image.ImageDecoder;
import dev.vitjava.image.Preprocessing;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.Writer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
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
    EvalReport.Format format;

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
        if (batch < 1) {
            throw new VitException("--batch must be at least 1, not " + batch);
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
        int count = limit == null ? data.size() : Math.max(0, Math.min(limit, data.size()));
        Evaluation eval = new Evaluation(data.classNames(), numClasses);
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
                    preds.write(i + "," + data.label(i) + "," + top.get(0).index() + "," + top.get(0).prob() + "\n");
                } catch (IOException e) {
                    throw new VitException(predictions + ": cannot write: " + e.getMessage());
                }
            }, progress::advance);
        }
        new EvalReport(dataset.toString(), eval, failures[0], confusion).print(spec.commandLine().getOut(), format);
        return failures[0] == 0 ? 0 : Main.EXIT_FAILURE;
    }
}
