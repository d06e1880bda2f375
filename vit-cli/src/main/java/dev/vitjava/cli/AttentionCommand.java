package dev.vitjava.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.vitjava.VitException;
import dev.vitjava.checkpoint.Labels;
import dev.vitjava.checkpoint.LoadedModel;
import dev.vitjava.checkpoint.SafetensorsWriter;
import dev.vitjava.engine.InferenceEngine;
import dev.vitjava.engine.Predictions;
import dev.vitjava.engine.Predictions.Ranked;
import dev.vitjava.explain.AttentionMaps;
import dev.vitjava.explain.AttentionPictures;
import dev.vitjava.explain.HeadFusion;
import dev.vitjava.image.DecodedImage;
import dev.vitjava.image.ImageDecoder;
import dev.vitjava.image.Preprocessing;
import dev.vitjava.tensor.Tensor;
import dev.vitjava.model.ViTConfig;
import dev.vitjava.render.Canvas;
import dev.vitjava.render.Png;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** Attention maps, rollout, queries and keys of each image, as data and pictures. */
@Command(name = "attention", mixinStandardHelpOptions = true,
        description = {"Show where the model looks: the class token's attention per head, attention",
            "rollout, queries and keys. For each image, DIR/<image name>/ gets:",
            "  maps.safetensors  float32 cls_attn (depth, heads, gh, gw), rollout (gh, gw),",
            "                    q and k (depth, heads, T, head_dim; before the 1/sqrt(d)",
            "                    scaling) and logits (classes)",
            "  rollout.png       the rollout over the preprocessed input",
            "  block<i>.png      the selected heads' class-token attention in block i",
            "  grid.png          every block x head, small multiples",
            "  qk_head<h>.png    q and k of head h (T x head_dim each) and",
            "                    softmax(q k^T / sqrt d) (T x T), for the last selected block",
            "Maps are coloured with viridis, each scaled to its own maximum; small inputs",
            "are enlarged by a whole factor. The top classes are printed as by classify."})
final class AttentionCommand implements Callable<Integer> {

    enum Format { text, json }

    @Spec
    CommandSpec spec;

    @Mixin
    ModelOptions modelOptions;

    @Mixin
    EngineOptionsMixin engineOptions;

    @Mixin
    PreprocessOptions preprocessOptions;

    @Parameters(arity = "1..*", paramLabel = "IMAGE", description = "Image files or directories.")
    List<Path> paths;

    @Option(names = {"-o", "--output-dir"}, required = true, paramLabel = "DIR",
            description = "Where the per-image directories go (created if missing).")
    Path outputDir;

    @Option(names = "--blocks", paramLabel = "SEL", defaultValue = "last",
            description = "Blocks to draw: last, all, or numbers such as 0,5,11 (default: ${DEFAULT-VALUE}).")
    String blocks;

    @Option(names = "--heads", paramLabel = "SEL", defaultValue = "all",
            description = "Heads to draw: all, or numbers such as 0,2 (default: ${DEFAULT-VALUE}).")
    String heads;

    @Option(names = "--head-fusion", paramLabel = "F", defaultValue = "mean",
            description = "How rollout combines heads: mean, max or min (default: ${DEFAULT-VALUE}).")
    String headFusion;

    @Option(names = "--discard-ratio", paramLabel = "R", defaultValue = "0",
            description = "Rollout drops the lowest fraction R of each fused row, except the class token, in [0, 1)"
                    + " (default: ${DEFAULT-VALUE}).")
    double discardRatio;

    @Option(names = {"-k", "--top-k"}, paramLabel = "K", defaultValue = "5",
            description = "Classes to show per image (default: ${DEFAULT-VALUE}).")
    int topK;

    @Option(names = "--format", paramLabel = "FMT", defaultValue = "text",
            description = "Summary format: ${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE}).")
    Format format;

    @Option(names = "--labels", paramLabel = "FILE", description = "Class names, one per line, replacing the model's.")
    Path labelsFile;

    @Override
    public Integer call() {
        if (topK < 1) {
            throw new ParameterException(spec.commandLine(), "--top-k must be at least 1, not " + topK);
        }
        if (!(discardRatio >= 0 && discardRatio < 1)) {
            throw new ParameterException(spec.commandLine(), "--discard-ratio must be in [0, 1), not " + discardRatio);
        }
        HeadFusion fusion;
        try {
            fusion = HeadFusion.parse(headFusion);
        } catch (VitException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
        List<Path> files = ClassifyCommand.expand(paths, spec.commandLine().getErr());
        engineOptions.prepare();
        LoadedModel model = modelOptions.load();
        ViTConfig c = model.model().config();
        if (!c.classToken()) {
            throw new VitException("--model " + (modelOptions.model != null ? modelOptions.model : "demo")
                    + ": the model has no class token, so there is no class-token attention to show or roll out");
        }
        List<Integer> blockList = select(blocks, c.depth(), "--blocks", "block", true);
        List<Integer> headList = select(heads, c.numHeads(), "--heads", "head", false);
        List<String> labels = labelsFile != null
                ? Labels.fromFile(labelsFile, c.numClasses()) : model.labels();
        Preprocessing preprocessing = preprocessOptions.forModel(model);
        ImageDecoder decoder = preprocessOptions.decoder();
        createDirectory(outputDir);
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        int failures = 0;
        Set<String> used = new HashSet<>();
        try (InferenceEngine engine = engineOptions.create(model.model())) {
            for (Path file : files) {
                DecodedImage base;
                try {
                    base = preprocessing.resizeAndCrop(decoder.decode(file, preprocessing.mode()));
                } catch (VitException e) {
                    failures++;
                    err.println("vit: " + e.getMessage());
                    continue;
                }
                Path dir = outputDir.resolve(uniqueName(file, used));
                createDirectory(dir);
                Explained e = explain(engine, c, preprocessing, base, dir, fusion, blockList, headList);
                print(out, file.toString(), Predictions.topK(e.probs(), labels, topK), dir, e.written());
            }
        }
        out.flush();
        return failures == 0 ? 0 : Main.EXIT_FAILURE;
    }

    /** One image's class probabilities and the files written for it, by kind. */
    private record Explained(double[] probs, Map<String, Path> written) {
    }

    /** Runs one image and writes its maps and pictures into {@code dir}. */
    private Explained explain(InferenceEngine engine, ViTConfig c, Preprocessing preprocessing,
            DecodedImage base, Path dir, HeadFusion fusion, List<Integer> blockList, List<Integer> headList) {
        int p = c.patchSize();
        int gh = base.height() / p;
        int gw = base.width() / p;
        int keep = blockList.get(blockList.size() - 1);
        AttentionMaps maps = new AttentionMaps(c, gh, gw, fusion, discardRatio, keep);
        Tensor pixels = Tensor.of(preprocessing.toFloats(base), 1, base.channels(), base.height(), base.width());
        InferenceEngine.Result result = engine.forward(pixels, maps.request());
        Map<String, Tensor> tensors = maps.tensors();
        Map<String, Path> written = new LinkedHashMap<>();
        Path mapsFile = dir.resolve("maps.safetensors");
        SafetensorsWriter.write(mapsFile, tensors, Map.of("format", "pt"));
        written.put("maps", mapsFile);
        AttentionPictures pictures = new AttentionPictures(base, gh, gw);
        written.put("rollout", png(pictures.rollout(tensors.get("rollout").toArray()), dir, "rollout.png"));
        float[] clsAttn = tensors.get("cls_attn").toArray();
        for (int b : blockList) {
            written.put("block" + b, png(pictures.block(clsAttn, c.numHeads(), b, headList), dir,
                    "block" + b + ".png"));
        }
        written.put("grid", png(pictures.grid(clsAttn, c.depth(), c.numHeads()), dir, "grid.png"));
        int tokens = 1 + gh * gw;
        float[] q = tensors.get("q").toArray();
        float[] k = tensors.get("k").toArray();
        int offset = keep * c.numHeads() * tokens * c.headDim();
        for (int h : headList) {
            Canvas qk = AttentionPictures.qk(q, k, offset, maps.probs(), keep, h, tokens, c.headDim());
            written.put("qk_head" + h, png(qk, dir, "qk_head" + h + ".png"));
        }
        return new Explained(Predictions.softmax(result.logits(), 0), written);
    }

    private void print(PrintWriter out, String file, List<Ranked> top, Path dir, Map<String, Path> written) {
        switch (format) {
            case text -> out.println(ClassifyCommand.textLine(file, top) + " -> " + dir);
            case json -> {
                ObjectNode line = ClassifyCommand.jsonLine(file, top);
                ObjectNode outputs = line.putObject("outputs");
                outputs.put("dir", dir.toString());
                written.forEach((kind, path) -> outputs.put(kind, path.toString()));
                out.println(line);
            }
        }
    }

    /**
     * Parses a selection of blocks or heads: {@code all}, {@code last} (blocks only) or comma-separated numbers;
     * returns them sorted, each once.
     */
    List<Integer> select(String spec, int count, String option, String what, boolean allowLast) {
        String valid = "0-" + (count - 1) + (allowLast ? ", last" : "") + " or all";
        String s = spec.trim();
        List<Integer> out = new ArrayList<>();
        if (s.equals("all")) {
            for (int i = 0; i < count; i++) {
                out.add(i);
            }
            return out;
        }
        if (allowLast && s.equals("last")) {
            return List.of(count - 1);
        }
        TreeSet<Integer> set = new TreeSet<>();
        for (String part : s.split(",", -1)) {
            int i;
            try {
                i = Integer.parseInt(part.trim());
            } catch (NumberFormatException e) {
                throw new ParameterException(this.spec.commandLine(), option + ": '" + part + "' is not a " + what
                        + " number (valid: " + valid + ")");
            }
            if (i < 0 || i >= count) {
                throw new ParameterException(this.spec.commandLine(), option + ": " + what + " " + i
                        + " is out of range: the model has " + count + " " + what + "s (valid: " + valid + ")");
            }
            set.add(i);
        }
        out.addAll(set);
        return out;
    }

    /** The image's file name without its extension, made unique among this run's outputs. */
    static String uniqueName(Path file, Set<String> used) {
        String name = file.getFileName().toString();
        int dot = name.lastIndexOf('.');
        String stem = dot > 0 ? name.substring(0, dot) : name;
        String unique = stem;
        for (int n = 2; !used.add(unique); n++) {
            unique = stem + "-" + n;
        }
        return unique;
    }

    private static void createDirectory(Path dir) {
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new VitException("--output-dir " + dir + ": cannot create the directory: " + reason(e), e);
        }
        if (!Files.isWritable(dir)) {
            throw new VitException("--output-dir " + dir + ": cannot write: permission denied");
        }
    }

    private static String reason(IOException e) {
        if (e instanceof java.nio.file.AccessDeniedException) {
            return "permission denied";
        }
        if (e instanceof java.nio.file.FileAlreadyExistsException) {
            return "a file of that name exists";
        }
        return e.getMessage();
    }

    private static Path png(Canvas canvas, Path dir, String name) {
        Path file = dir.resolve(name);
        Png.write(canvas, file);
        return file;
    }
}
