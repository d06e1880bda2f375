package dev.vitjava.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.vitjava.dataset.Evaluation;
import dev.vitjava.io.Printable;
import java.io.PrintWriter;
import java.util.Locale;
import picocli.CommandLine.Option;

/**
 * The accuracy report of {@code vit eval} (text or one JSON object), shared with {@code vit spark eval} so both print
 * the same report.
 *
 * @param dataset   how the dataset was named on the command line
 * @param failed    samples that could not be read (skipped)
 * @param matching  how dataset classes became model classes: name or position (ImageFolder), index (IDX labels)
 * @param confusion whether to include the confusion matrix
 */
public record EvalReport(String dataset, Evaluation eval, int failed, String matching, boolean confusion) {

    /** The report formats. */
    public enum Format { text, json }

    /** How the report is printed: the options of {@code vit eval} and {@code vit spark eval} (a picocli mixin). */
    public static final class Options {
        @Option(names = "--format", paramLabel = "FMT", defaultValue = "text",
                description = "Report format: ${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE}).")
        Format format;

        @Option(names = "--confusion",
                description = "Also print the confusion matrix (rows: true, columns: predicted).")
        boolean confusion;

        /** Prints the report of {@code eval} over {@code dataset} as these options ask. */
        public void print(PrintWriter out, String dataset, Evaluation eval, int failed, String matching) {
            new EvalReport(dataset, eval, failed, matching, confusion).print(out, format);
        }
    }

    public void print(PrintWriter out, Format format) {
        if (format == Format.json) {
            out.println(json());
        } else {
            text(out);
        }
    }

    private String json() {
        Evaluation e = eval;
        ObjectNode o = new ObjectMapper().createObjectNode();
        o.put("dataset", dataset).put("count", e.count()).put("failed", failed)
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

    private void text(PrintWriter out) {
        Evaluation e = eval;
        out.printf(Locale.ROOT, "dataset  %s%n", Printable.escape(dataset));
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
            out.printf(Locale.ROOT, "%-" + width + "s  %7.2f%%  %6d%n", Printable.escape(e.classNames().get(c)),
                    100 * e.classAccuracy(c), e.support(c));
        }
        if (confusion) {
            out.printf("%nconfusion matrix (rows: true class, columns: predicted class index)%n");
            for (int c = 0; c < e.confusion().length; c++) {
                StringBuilder row = new StringBuilder(String.format(Locale.ROOT, "%-" + width + "s",
                        Printable.escape(e.classNames().get(c))));
                for (long v : e.confusion()[c]) {
                    row.append(String.format(Locale.ROOT, " %5d", v));
                }
                out.println(row);
            }
        }
    }
}
