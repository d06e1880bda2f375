package dev.vitjava.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.vitjava.VitException;
import dev.vitjava.checkpoint.Labels;
import dev.vitjava.checkpoint.LoadedModel;
import dev.vitjava.dataset.ImageFolderDataset;
import dev.vitjava.engine.BatchRunner;
import dev.vitjava.engine.InferenceEngine;
import dev.vitjava.engine.Predictions;
import dev.vitjava.engine.Predictions.Ranked;
import dev.vitjava.image.DecodedImage;
import dev.vitjava.image.Preprocessing;
import dev.vitjava.io.Printable;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.function.Function;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** Classifies image files and directories. */
@Command(name = "classify", mixinStandardHelpOptions = true,
        description = {"Classify images and print the top classes. PATHs are image files, directories",
            "(searched recursively) or - for one image on stdin.",
            "Formats: text  'FILE: LABEL PROB | LABEL PROB | ...' per image;",
            "         json  {\"file\", \"top\": [{\"index\", \"label\", \"prob\", \"score\"}]} per line",
            "               (score = prob, the Hugging Face pipeline's name);",
            "         csv   header file,rank,index,label,prob; a row per image and rank.",
            "Unreadable files are reported on stderr and skipped; the exit code is 1 if any",
            "failed."})
final class ClassifyCommand implements Callable<Integer> {

    private static final ObjectMapper JSON = new ObjectMapper();

    enum Format { text, json, csv }

    @Spec
    CommandSpec spec;

    @Mixin
    ModelOptions modelOptions;

    @Mixin
    EngineOptionsMixin engineOptions;

    @Mixin
    PreprocessOptions preprocessOptions;

    @Parameters(arity = "1..*", paramLabel = "PATH", description = "Image files or directories; - reads one image"
            + " from stdin.")
    List<Path> paths;

    @Option(names = {"-k", "--top-k", "--topk"}, paramLabel = "K", defaultValue = "5",
            converter = OptionValues.Positive.class,
            description = "Classes to show per image (default: ${DEFAULT-VALUE}).")
    int topK;

    @Option(names = {"-b", "--batch", "--batch-size"}, paramLabel = "B", defaultValue = "16",
            converter = OptionValues.BatchSize.class, description = "Images per batch (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--format", paramLabel = "FMT", defaultValue = "text",
            description = "Output format: ${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE}).")
    Format format;

    @Option(names = "--labels", paramLabel = "FILE", description = "Class names, one per line, replacing the model's.")
    Path labelsFile;

    @Option(names = {"-q", "--quiet"}, description = "No progress bar.")
    boolean quiet;

    @Override
    public Integer call() {
        PrintWriter err = spec.commandLine().getErr();
        List<String> problems = new ArrayList<>();
        List<Path> files = expand(paths, problems);
        problems.forEach(p -> err.println("vit: " + p));
        engineOptions.prepare();
        LoadedModel model = modelOptions.load();
        List<String> labels = labelsFile != null
                ? Labels.fromFile(labelsFile, model.model().config().numClasses()) : model.labels();
        Preprocessing preprocessing = preprocessOptions.forModel(model);
        Function<Path, DecodedImage> reader = preprocessOptions.reader(preprocessing);
        PrintWriter out = spec.commandLine().getOut();
        if (format == Format.csv) {
            out.println("file,rank,index,label,prob");
        }
        int[] failures = {problems.size()};
        try (InferenceEngine engine = engineOptions.create(model.model());
             Progress progress = new Progress("classify", files.size(), quiet)) {
            new BatchRunner(engine, preprocessing, preprocessOptions.maxPixels, batch).run(files.size(),
                    i -> reader.apply(files.get(i)),
                    i -> files.get(i).toString(),
                    (i, probs, error) -> {
                        if (error != null) {
                            failures[0]++;
                            err.println("vit: " + Printable.escape(error.getMessage()));
                        } else {
                            print(out, files.get(i).toString(), Predictions.topK(probs, labels, topK));
                            Output.check(out); // a closed pipe (| head) stops the run
                        }
                    }, progress::advance);
        }
        out.flush();
        return failures[0] == 0 ? 0 : Main.EXIT_FAILURE;
    }

    private void print(PrintWriter out, String file, List<Ranked> top) {
        switch (format) {
            case text -> out.println(textLine(file, top));
            case json -> out.println(jsonLine(file, top));
            case csv -> {
                for (int r = 0; r < top.size(); r++) {
                    Ranked x = top.get(r);
                    out.println(csv(file) + "," + (r + 1) + "," + x.index() + "," + csv(x.label()) + ","
                            + x.prob());
                }
            }
        }
    }

    /** {@code FILE: LABEL PROB | LABEL PROB | ...}, control characters in the file name escaped. */
    static String textLine(String file, List<Ranked> top) {
        return Printable.escape(file) + ": " + top.stream()
                .map(r -> r.label() + " " + String.format(Locale.ROOT, "%.4f", r.prob()))
                .collect(Collectors.joining(" | "));
    }

    /** {@code {"file": ..., "top": [{"index", "label", "prob"}, ...]}} */
    static ObjectNode jsonLine(String file, List<Ranked> top) {
        ObjectNode line = JSON.createObjectNode().put("file", file);
        ArrayNode list = line.putArray("top");
        top.forEach(r -> list.addObject().put("index", r.index()).put("label", r.label()).put("prob", r.prob())
                .put("score", r.prob()));
        return line;
    }

    /** A CSV field, quoted when it holds a comma, quote or line break. */
    static String csv(String s) {
        return s.contains(",") || s.contains("\"") || s.contains("\n") || s.contains("\r")
                ? "\"" + s.replace("\"", "\"\"") + "\"" : s;
    }

    /** {@link #expand(List, List)}, reporting what cannot be listed on {@code err} (one line each). */
    static List<Path> expand(List<Path> paths, PrintWriter err) {
        List<String> problems = new ArrayList<>();
        List<Path> files = expand(paths, problems);
        problems.forEach(p -> err.println("vit: " + p));
        return files;
    }

    /** Files as given, directories expanded to the images under them (sorted); what cannot be listed goes to problems. */
    static List<Path> expand(List<Path> paths, List<String> problems) {
        List<Path> files = new ArrayList<>();
        for (Path p : paths) {
            if (Files.isDirectory(p)) {
                ImageFolderDataset.Listing found = ImageFolderDataset.imagesUnder(p);
                problems.addAll(found.problems());
                if (found.files().isEmpty() && found.problems().isEmpty()) {
                    throw new VitException(p + ": no image files in this directory");
                }
                files.addAll(found.files());
            } else {
                files.add(p);
            }
        }
        return files;
    }
}
