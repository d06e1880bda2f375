package dev.vitjava.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vitjava.VitException;
import dev.vitjava.io.SafeFiles;
import dev.vitjava.model.ViTConfig;
import dev.vitjava.model.ViTModel;
import dev.vitjava.model.ViTWeights;
import dev.vitjava.model.ViTWeights.Linear;
import dev.vitjava.model.ViTWeights.Norm;
import dev.vitjava.tensor.Tensor;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Loads a ViT from a directory ({@code model.safetensors} with an optional {@code config.json} and
 * {@code preprocessor_config.json}) or a single safetensors file. Only safetensors are read: pickle-based
 * formats ({@code .bin}, {@code .pth}) can execute code and are refused.
 */
public final class ModelLoader {

    private static final ObjectMapper JSON = new ObjectMapper();
    /** Configs are a few KiB (with 21k labels, about 1 MiB); a bigger one is not a config. */
    private static final long MAX_JSON_BYTES = 64L << 20;

    private ModelLoader() {
    }

    /**
     * What the checkpoint itself may not say.
     *
     * @param config   a config.json to use instead of the model's own (for bare checkpoints), or null
     * @param numHeads attention heads of a bare checkpoint whose width is not a standard one, or 0
     */
    public record Options(Path config, int numHeads) {
        public static Options none() {
            return new Options(null, 0);
        }
    }

    public static LoadedModel load(Path path) {
        return load(path, Options.none());
    }

    public static LoadedModel load(Path path, Options options) {
        Path configOverride = options.config();
        Path weightsFile = weightsFile(path);
        Path dir = Files.isDirectory(path) ? path : null;
        Path configFile = configOverride != null ? configOverride
                : dir != null && Files.isRegularFile(dir.resolve("config.json")) ? dir.resolve("config.json") : null;
        Path preprocessorFile = dir != null && Files.isRegularFile(dir.resolve("preprocessor_config.json"))
                ? dir.resolve("preprocessor_config.json") : null;
        if (configFile != null && options.numHeads() > 0) {
            throw new VitException("--num-heads is for a bare checkpoint without a config; " + configFile
                    + " gives the number of heads");
        }
        JsonNode configJson = configFile == null ? null : readJson(configFile);
        JsonNode preprocessorJson = preprocessorFile == null ? null : readJson(preprocessorFile);

        try (Safetensors st = Safetensors.open(weightsFile)) {
            Naming.Detected naming = Naming.detect(weightsFile, st.entries().keySet());
            ConfigReader.Shapes shapes = canonical -> shapeOf(st, naming, canonical);
            ViTConfig config = configJson != null
                    ? ConfigReader.fromJson(configFile, configJson, naming.naming(), shapes)
                    : ConfigReader.fromShapes(weightsFile, naming.naming(), shapes, options.numHeads());
            ViTWeights weights = new WeightMapper(st, naming, config).map();
            List<String> labels = Labels.of(configFile, configJson, config.numClasses());
            return new LoadedModel(weightsFile, naming.naming(),
                    configFile != null ? configFile.toString() : "tensor shapes", new ViTModel(config, weights),
                    labels, st.entries(), () -> PreprocessingReader.forModel(naming.naming(), config.imgHeight(),
                            config.imgWidth(), config.inChans(), configJson, preprocessorJson));
        }
    }

    private static Path weightsFile(Path path) {
        if (Files.isRegularFile(path)) {
            return path;
        }
        if (!Files.exists(path)) {
            throw new VitException(path + ": no such model file or directory");
        }
        if (!Files.isDirectory(path)) {
            throw new VitException(path + ": not a regular file or a directory (a pipe or device is not read)");
        }
        Path main = path.resolve("model.safetensors");
        if (Files.isRegularFile(main)) {
            return main;
        }
        List<Path> candidates;
        try (Stream<Path> files = Files.list(path)) {
            candidates = files.filter(p -> p.getFileName().toString().endsWith(".safetensors")).sorted().toList();
        } catch (IOException e) {
            throw new VitException(path + ": cannot list directory: " + e.getMessage(), e);
        }
        if (candidates.size() == 1) {
            return candidates.get(0);
        }
        if (candidates.isEmpty()) {
            boolean pickle = Files.exists(path.resolve("pytorch_model.bin"));
            throw new VitException(path + ": no model.safetensors in this directory"
                    + (pickle ? " (pytorch_model.bin is a pickle, which is never loaded; convert it to safetensors)" : ""));
        }
        throw new VitException(path + ": several .safetensors files and no model.safetensors; name the file");
    }

    static JsonNode readJson(Path file) {
        try {
            return JSON.readTree(SafeFiles.readRegularFile(file, MAX_JSON_BYTES));
        } catch (IOException e) {
            throw new VitException(file + ": not valid JSON (" + e.getMessage().lines().findFirst().orElse("") + ")");
        }
    }

    private static int[] shapeOf(Safetensors st, Naming.Detected naming, String canonical) {
        List<String> sources = naming.sources(canonical);
        if (!sources.stream().allMatch(st::contains)) {
            return null;
        }
        int[] shape = st.entry(sources.get(0)).shape();
        for (int i = 1; i < sources.size(); i++) {
            shape[0] += st.entry(sources.get(i)).shape()[0];
        }
        return shape;
    }

    /** Fetches every canonical tensor, checks its shape against the config, and refuses leftovers. */
    private static final class WeightMapper {
        private final Safetensors st;
        private final Naming.Detected naming;
        private final ViTConfig c;
        private final Set<String> used = new HashSet<>();

        WeightMapper(Safetensors st, Naming.Detected naming, ViTConfig config) {
            this.st = st;
            this.naming = naming;
            this.c = config;
        }

        ViTWeights map() {
            int d = c.embedDim();
            int p = c.patchSize();
            Linear patchEmbed = new Linear(get("patch_embed.proj.weight", d, c.inChans(), p, p),
                    get("patch_embed.proj.bias", d));
            Tensor cls = c.classToken() ? get("cls_token", 1, 1, d).reshape(d) : null;
            Tensor pos = get("pos_embed", 1, c.numTokens(), d).reshape(c.numTokens(), d);
            List<ViTWeights.Block> blocks = new ArrayList<>();
            for (int i = 0; i < c.depth(); i++) {
                String b = "blocks." + i + ".";
                int h = c.mlpHidden();
                blocks.add(new ViTWeights.Block(
                        norm(b + "norm1", d),
                        new Linear(get(b + "attn.qkv.weight", 3 * d, d), c.qkvBias() ? get(b + "attn.qkv.bias", 3 * d) : null),
                        linear(b + "attn.proj", d, d),
                        norm(b + "norm2", d),
                        linear(b + "mlp.fc1", h, d),
                        linear(b + "mlp.fc2", d, h)));
            }
            boolean fcNorm = c.globalPool() == ViTConfig.GlobalPool.AVG && present("fc_norm.weight");
            Norm norm = fcNorm ? null : norm("norm", d);
            Norm fc = fcNorm ? norm("fc_norm", d) : null;
            Linear head = linear("head", c.numClasses(), d);
            List<String> unexpected = st.entries().keySet().stream()
                    .filter(k -> !used.contains(k) && !naming.isIgnorable(k)).toList();
            if (!unexpected.isEmpty()) {
                throw new VitException(st.path() + ": " + unexpected.size() + " unexpected tensor(s) for a "
                        + c.depth() + "-block ViT in " + naming.naming().id() + " naming: "
                        + String.join(", ", unexpected.subList(0, Math.min(4, unexpected.size())))
                        + (unexpected.size() > 4 ? ", ..." : ""));
            }
            return new ViTWeights(patchEmbed, cls, pos, blocks, norm, fc, head);
        }

        private boolean present(String canonical) {
            return naming.sources(canonical).stream().allMatch(st::contains);
        }

        private Norm norm(String name, int d) {
            return new Norm(get(name + ".weight", d), get(name + ".bias", d));
        }

        private Linear linear(String name, int out, int in) {
            return new Linear(get(name + ".weight", out, in), get(name + ".bias", out));
        }

        private Tensor get(String canonical, int... expected) {
            List<String> sources = naming.sources(canonical);
            for (String s : sources) {
                if (!st.contains(s)) {
                    throw new VitException(st.path() + ": missing tensor '" + s + "' (" + naming.naming().id()
                            + " naming, " + c.depth() + " blocks)");
                }
            }
            int[] shape = shapeOf(st, naming, canonical);
            if (!Arrays.equals(shape, expected)) {
                throw new VitException(st.path() + ": tensor '" + String.join("+", sources) + "' has shape "
                        + Arrays.toString(shape) + ", the config needs " + Arrays.toString(expected));
            }
            used.addAll(sources);
            if (sources.size() == 1) {
                return st.tensor(sources.get(0));
            }
            FloatBuffer joined = FloatBuffer.allocate((int) Tensor.numel(expected));
            for (String s : sources) {
                joined.put(st.tensor(s).data().duplicate().rewind());
            }
            return new Tensor(expected, joined.flip());
        }
    }
}
