package dev.vitjava.tests;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vitjava.checkpoint.LoadedModel;
import dev.vitjava.checkpoint.ModelLoader;
import dev.vitjava.checkpoint.Safetensors;
import dev.vitjava.model.Tensor;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The PyTorch golden cases copied from shared/golden (timm 1.0.28, transformers, torchvision 0.14): each has the
 * checkpoint, a batch-2 and a batch-1 input, and PyTorch's float32 outputs.
 */
final class Golden {

    static final List<String> CASES = List.of("timm_tiny", "hf_tiny", "tv_tiny", "timm_tiny_resize_48x48");

    private Golden() {
    }

    static Path dir(String name) {
        try {
            return Path.of(Golden.class.getResource("/golden/" + name).toURI());
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
}
