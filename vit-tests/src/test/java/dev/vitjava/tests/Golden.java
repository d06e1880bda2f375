package dev.vitjava.tests;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vitjava.checkpoint.LoadedModel;
import dev.vitjava.checkpoint.ModelLoader;
import dev.vitjava.checkpoint.Safetensors;
import dev.vitjava.tensor.Tensor;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.ToDoubleFunction;
import java.util.stream.Stream;
import org.junit.jupiter.params.provider.Arguments;

/**
 * The PyTorch golden cases copied from shared/golden (timm 1.0.28, transformers, torchvision 0.14): each has the
 * checkpoint, a batch-2 and a batch-1 input, and PyTorch's float32 outputs.
 */
final class Golden {

    static final List<String> CASES = List.of("timm_tiny", "hf_tiny", "tv_tiny", "timm_tiny_resize_48x48");

    /** Every case with each of its inputs: (name, "") for the batch-2 input, (name, "_b1") for the batch-1 one. */
    static Stream<Arguments> casesAndBatches() {
        return CASES.stream().flatMap(c -> Stream.of(Arguments.of(c, ""), Arguments.of(c, "_b1")));
    }

    private Golden() {
    }

    static Path dir(String name) {
        return resource("/golden/" + name);
    }

    /** A test resource as a file. */
    static Path resource(String path) {
        try {
            return Path.of(Golden.class.getResource(path).toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    static JsonNode meta(String name) {
        try {
            return new ObjectMapper().readTree(dir(name).resolve("meta.json").toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Hugging Face cases load as a directory with their config.json; timm and torchvision checkpoints are bare
     * files whose width (64) is no standard size, so the head count comes from the case's meta.json.
     */
    static LoadedModel load(String name) {
        Path dir = dir(name);
        if (dir.resolve("config.json").toFile().exists()) {
            return ModelLoader.load(dir);
        }
        int heads = meta(name).path("config").path("num_heads").asInt();
        return ModelLoader.load(dir.resolve("model.safetensors"), new ModelLoader.Options(null, heads));
    }

    /**
     * PyTorch's outputs of a case for one of its inputs, by trace key: {@code suffix} "" for the batch-2 input,
     * "_b1" for the batch-1 input (whose keys end in _b1 in the file); pos_embed_resized belongs to both.
     */
    static Map<String, Tensor> expected(String name, String suffix) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        read(dir(name).resolve("output.safetensors")).forEach((key, t) -> {
            boolean b1 = key.endsWith("_b1");
            if (key.equals("pos_embed_resized") || b1 == suffix.equals("_b1")) {
                out.put(b1 ? key.substring(0, key.length() - 3) : key, t);
            }
        });
        return out;
    }

    /** Every float tensor of a safetensors file, copied to the heap. */
    static Map<String, Tensor> read(Path file) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        try (Safetensors st = Safetensors.open(file)) {
            for (String key : st.entries().keySet()) {
                if (!st.entry(key).dtype().isFloat()) {
                    continue;
                }
                Tensor t = st.tensor(key);
                out.put(key, Tensor.of(t.toArray().clone(), t.shape()));
            }
        }
        return out;
    }

    /** Largest |a - b| over all elements; infinite if either holds a NaN where the other does not. */
    static double maxAbsDiff(Tensor a, Tensor b) {
        double max = 0;
        for (int i = 0; i < a.size(); i++) {
            double d = Math.abs((double) a.get(i) - b.get(i));
            if (!(d <= max)) {
                max = Double.isNaN(d) ? Double.POSITIVE_INFINITY : d;
            }
        }
        return max;
    }

    /**
     * Asserts that {@code actual} has exactly the keys of {@code expected}, each with the same shape and within
     * {@code tolerance.applyAsDouble(key)}; returns the largest |difference| per key.
     */
    static Map<String, Double> assertTraceClose(Map<String, Tensor> actual, Map<String, Tensor> expected,
            ToDoubleFunction<String> tolerance, String what) {
        assertThat(actual.keySet()).as("trace keys of %s", what).containsExactlyElementsOf(expected.keySet());
        Map<String, Double> errors = new LinkedHashMap<>();
        for (Map.Entry<String, Tensor> e : expected.entrySet()) {
            String key = e.getKey();
            Tensor a = actual.get(key);
            assertThat(a.shape()).as("shape of %s (%s)", key, what).isEqualTo(e.getValue().shape());
            double diff = maxAbsDiff(a, e.getValue());
            errors.put(key, diff);
            assertThat(diff).as("max |difference| of %s (%s)", key, what)
                    .isLessThanOrEqualTo(tolerance.applyAsDouble(key));
        }
        return errors;
    }

    /**
     * Asserts that every tensor PyTorch traced for a golden case ({@link #expected}) is in {@code trace}, with its
     * shape and within {@code tolerance.applyAsDouble(key)}; returns the largest difference over them all.
     */
    static double assertMatchesPyTorch(Map<String, Tensor> trace, Map<String, Tensor> expected,
            ToDoubleFunction<String> tolerance, String what) {
        double worst = 0;
        for (Map.Entry<String, Tensor> e : expected.entrySet()) {
            String key = e.getKey();
            Tensor actual = trace.get(key);
            assertThat(actual).as("trace key %s (%s)", key, what).isNotNull();
            assertThat(actual.shape()).as("shape of %s (%s)", key, what).isEqualTo(e.getValue().shape());
            double diff = maxAbsDiff(actual, e.getValue());
            assertThat(diff).as("max |java - pytorch| of %s (%s)", key, what)
                    .isLessThanOrEqualTo(tolerance.applyAsDouble(key));
            worst = Math.max(worst, diff);
        }
        return worst;
    }
}
