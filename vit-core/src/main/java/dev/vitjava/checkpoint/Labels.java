package dev.vitjava.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import dev.vitjava.VitException;
import dev.vitjava.io.SafeFiles;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Class names: Hugging Face {@code id2label}, timm {@code label_names}, the bundled ImageNet-1k list for
 * 1000-class models that carry none, or {@code class_<i>}.
 */
public final class Labels {

    /** ImageNet-21k's names take about 500 KiB. */
    private static final long MAX_LABELS_BYTES = 16L << 20;

    private Labels() {
    }

    static List<String> of(Path configFile, JsonNode config, int numClasses) {
        if (config != null && config.path("id2label").isObject() && config.get("id2label").size() > 0) {
            String[] names = new String[numClasses];
            config.get("id2label").properties().forEach(f -> {
                int i;
                try {
                    i = Integer.parseInt(f.getKey());
                } catch (NumberFormatException e) {
                    throw new VitException(configFile + ": id2label key '" + Checkpoints.shown(f.getKey()) + "' is not an integer");
                }
                if (i < 0 || i >= numClasses) {
                    throw new VitException(configFile + ": id2label has index " + i + " but the model has "
                            + numClasses + " classes");
                }
                names[i] = f.getValue().asText();
            });
            return fill(names);
        }
        if (config != null && config.path("label_names").isArray()) {
            JsonNode list = config.get("label_names");
            if (list.size() != numClasses) {
                throw new VitException(configFile + ": label_names has " + list.size() + " names but the model has "
                        + numClasses + " classes");
            }
            List<String> names = new ArrayList<>();
            list.forEach(n -> names.add(n.asText()));
            return List.copyOf(names);
        }
        if (numClasses == 1000) {
            return imagenet();
        }
        return fill(new String[numClasses]);
    }

    /** The 1000 ImageNet-1k class names in the standard index order. */
    public static List<String> imagenet() {
        try (InputStream in = Labels.class.getResourceAsStream("imagenet-1k.txt")) {
            return List.of(new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n"));
        } catch (IOException e) {
            throw new IllegalStateException("bundled ImageNet labels unreadable", e);
        }
    }

    /** One label per line; the count must match the model's classes. */
    public static List<String> fromFile(Path file, int numClasses) {
        List<String> lines = fromFile(file);
        if (lines.size() != numClasses) {
            throw new VitException(file + ": " + lines.size() + " labels but the model has " + numClasses + " classes");
        }
        return lines;
    }

    private static List<String> fill(String[] names) {
        String[] out = Arrays.copyOf(names, names.length);
        for (int i = 0; i < out.length; i++) {
            if (out[i] == null) {
                out[i] = "class_" + i;
            }
        }
        return List.of(out);
    }

    /** One label per line (blank lines skipped). */
    public static List<String> fromFile(Path file) {
        return new String(SafeFiles.readRegularFile(file, MAX_LABELS_BYTES), StandardCharsets.UTF_8).lines()
                .filter(l -> !l.isBlank()).map(String::strip).toList();
    }
}
