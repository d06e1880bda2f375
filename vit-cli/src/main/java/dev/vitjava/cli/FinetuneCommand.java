package dev.vitjava.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.vitjava.VitException;
import dev.vitjava.checkpoint.Labels;
import dev.vitjava.checkpoint.LoadedModel;
import dev.vitjava.checkpoint.Safetensors;
import dev.vitjava.dataset.Dataset;
import dev.vitjava.dataset.IdxDataset;
import dev.vitjava.dataset.ImageFolderDataset;
import dev.vitjava.engine.EngineOptions;
import dev.vitjava.engine.cpu.CpuTraining;
import dev.vitjava.image.ImageDecoder;
import dev.vitjava.image.Preprocessing;
import dev.vitjava.tensor.Tensor;
import dev.vitjava.model.ViTConfig;
import dev.vitjava.model.ViTModel;
import dev.vitjava.model.ViTWeights;
import dev.vitjava.train.Augmentation;
import dev.vitjava.train.Finetune;
import dev.vitjava.train.ModelExport;
import dev.vitjava.train.Optimizer;
import dev.vitjava.train.Param;
import dev.vitjava.train.ReferenceTraining;
import dev.vitjava.train.Regularization;
import dev.vitjava.train.RunDirectory;
import dev.vitjava.train.Schedule;
import dev.vitjava.train.TrainData;
import dev.vitjava.train.TrainingEngine;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** Fine-tunes a model on a labelled dataset, optionally with its bottom blocks frozen. */
@Command(name = "finetune", mixinStandardHelpOptions = true,
        description = {"Fine-tune a model on a labelled dataset (ImageFolder directory or IDX images",
            "file), with the embedding and the first blocks frozen if asked. Writes",
            "DIR/model.safetensors (timm names), DIR/config.json (timm hub format),",
            "DIR/log.jsonl, and a checkpoint each epoch to --resume from."})
final class FinetuneCommand implements Callable<Integer> {

    private static final ObjectMapper JSON = new ObjectMapper();

    @Spec
    CommandSpec spec;

    @Mixin
    ModelOptions modelOptions;

    @Mixin
    PreprocessOptions preprocessOptions;

    @Option(names = "--train", paramLabel = "DATA", description = "Training data: ImageFolder directory or IDX images file.")
    Path train;

    @Option(names = "--val", paramLabel = "DATA", description = "Validation data, evaluated after every epoch.")
    Path val;

    @Option(names = {"-o", "--output"}, paramLabel = "DIR", description = "Output directory.")
    Path output;

    @Option(names = "--overwrite", description = "Replace a model already in the output directory.")
    boolean overwrite;

    @Option(names = "--resume", paramLabel = "DIR",
            description = "Continue the run in DIR from its last checkpoint with its original options (--epochs may"
                    + " raise the epoch count).")
    Path resume;

    @Option(names = "--labels", paramLabel = "FILE", description = "Class names of IDX label values, one per line.")
    Path labelsFile;

    @Option(names = "--reset-head", description = "New zero-initialised head even when the classes match the model's.")
    boolean resetHead;

    @Option(names = "--freeze-blocks", paramLabel = "K", defaultValue = "0", description = "Freeze the patch "
            + "embedding, class token, position embedding and blocks 0..K-1 (default: ${DEFAULT-VALUE}, train all).")
    int freezeBlocks;

    @Option(names = "--freeze-epochs", paramLabel = "F", defaultValue = "-1",
            description = "Train frozen for the first F epochs, then unfreeze everything (default: frozen throughout).")
    int freezeEpochs;

    @Option(names = "--optimizer", paramLabel = "NAME", defaultValue = "adamw",
            description = "sgd or adamw (torch.optim semantics; default: ${DEFAULT-VALUE}).")
    String optimizerName;

    @Option(names = "--lr", paramLabel = "LR", defaultValue = "1e-3", description = "Learning rate (default: ${DEFAULT-VALUE}).")
    double lr;

    @Option(names = "--momentum", paramLabel = "M", defaultValue = "0.9", description = "SGD momentum (default: ${DEFAULT-VALUE}).")
    double momentum;

    @Option(names = "--weight-decay", paramLabel = "WD", description = "Weight decay (default: 0 for sgd, 0.01 for adamw as torch.optim).")
    Double weightDecay;

    @Option(names = "--batch", paramLabel = "B", defaultValue = "64", description = "Batch size (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--epochs", paramLabel = "N", defaultValue = "1", description = "Epochs (default: ${DEFAULT-VALUE}).")
    int epochs;

    @Option(names = "--max-steps", paramLabel = "N", defaultValue = "-1", description = "Stop after N optimizer steps.")
    long maxSteps;

    @Option(names = "--schedule", paramLabel = "NAME", defaultValue = "constant",
            description = "Learning rate schedule: constant, cosine (per step, to 0) or step (x gamma every"
                    + " --lr-step-epochs epochs) (default: ${DEFAULT-VALUE}).")
    String schedule;

    @Option(names = "--warmup-steps", paramLabel = "N", defaultValue = "0", description = "Linear warm-up steps.")
    int warmupSteps;

    @Option(names = "--lr-step-epochs", paramLabel = "N", defaultValue = "1", description = "Epochs per step of the step schedule.")
    int stepEpochs;

    @Option(names = "--lr-gamma", paramLabel = "G", defaultValue = "0.1", description = "Factor of the step schedule.")
    double gamma;

    @Option(names = "--label-smoothing", paramLabel = "E", defaultValue = "0", description = "Label smoothing.")
    double labelSmoothing;

    @Option(names = "--grad-clip", paramLabel = "NORM", defaultValue = "0",
            description = "Clip the gradients' total L2 norm to NORM (0: off).")
    double gradClip;

    @Option(names = "--dropout", paramLabel = "P", defaultValue = "0",
            description = "Dropout after the position embedding, the attention projection and the MLP layers.")
    double dropout;

    @Option(names = "--attn-dropout", paramLabel = "P", defaultValue = "0", description = "Dropout on attention probabilities.")
    double attnDropout;

    @Option(names = "--drop-path", paramLabel = "P", defaultValue = "0",
            description = "Stochastic depth, rising linearly from 0 (first block) to P (last block).")
    double dropPath;

    @Option(names = "--seed", paramLabel = "N", defaultValue = "0", description = "Seed of shuffling, augmentation and dropout.")
    long seed;

    @Option(names = "--no-shuffle", description = "Take samples in file order: batch i = samples [iB, (i+1)B).")
    boolean noShuffle;

    @Option(names = "--augment", paramLabel = "NAME",
            description = "none, flip or crop-flip (RandomResizedCrop + horizontal flip); default none for IDX data,"
                    + " crop-flip for folders.")
    String augment;

    @Option(names = "--log-every", paramLabel = "N", defaultValue = "0", description = "Also log every N steps.")
    int logEvery;

    @Option(names = "--cache-memory", paramLabel = "MB", defaultValue = "1024",
            description = "Memory for cached frozen-block features; the rest goes to a file in DIR (default: ${DEFAULT-VALUE}).")
    long cacheMemoryMb;

    @Option(names = "--no-feature-cache", description = "Recompute the frozen blocks every epoch (for comparisons).")
    boolean noFeatureCache;

    @Option(names = {"-b", "--backend"}, paramLabel = "NAME", defaultValue = "cpu",
            description = "cpu or reference (float64, slow: the oracle) (default: ${DEFAULT-VALUE}).")
    String backend;

    @Option(names = "--threads", paramLabel = "N", defaultValue = "0", description = "Worker threads (default: one per core).")
    int threads;

    @Option(names = {"-q", "--quiet"}, description = "No progress bar.")
    boolean quiet;

    /** Set when a resumed run was given a new --epochs. */
    private int epochsOverride;

    @Override
    public Integer call() {
        if (resume != null) {
            return resumeRun();
        }
        return run(null, null);
    }

    /** Re-runs the original command line saved in the checkpoint, from the checkpoint. */
    private int resumeRun() {
        RunDirectory dir = RunDirectory.existing(resume);
        ObjectNode state = dir.loadState();
        List<String> args = new ArrayList<>();
        state.path("args").forEach(a -> args.add(a.asText()));
        FinetuneCommand original = new FinetuneCommand();
        CommandLine cl = new CommandLine(original);
        cl.setOut(spec.commandLine().getOut());
        cl.setErr(spec.commandLine().getErr());
        cl.parseArgs(args.toArray(String[]::new));
        original.spec = cl.getCommandSpec();
        original.quiet |= quiet;
        if (spec.commandLine().getParseResult().hasMatchedOption("--epochs")) {
            // more epochs than first asked for: later checkpoints carry the new count
            original.epochs = epochs;
            original.epochsOverride = epochs;
        }
        if (original.output == null || !original.output.toAbsolutePath().normalize()
                .equals(resume.toAbsolutePath().normalize())) {
            original.output = resume;
        }
        return original.run(dir, state);
    }

    private int run(RunDirectory resumed, ObjectNode state) {
        if (train == null) {
            throw new CommandLine.ParameterException(spec.commandLine(), "Missing required option: '--train=DATA'");
        }
        if (output == null) {
            throw new CommandLine.ParameterException(spec.commandLine(), "Missing required option: '--output=DIR'");
        }
        if (!backend.equals("cpu") && !backend.equals("reference")) {
            throw new VitException("--backend " + backend + " cannot train (choose cpu or reference)");
        }
        LoadedModel loaded = modelOptions.load();
        ViTConfig c0 = loaded.model().config();
        if (freezeBlocks > c0.depth()) {
            throw new VitException("--freeze-blocks " + freezeBlocks + " is larger than the model's depth " + c0.depth());
        }
        Preprocessing pre = preprocessOptions.forModel(loaded);
        ImageDecoder decoder = preprocessOptions.decoder();

        // Classes: the model's (head kept) or the data's (new zero head).
        boolean folder = Files.isDirectory(train);
        Dataset trainSet = open(train, decoder, pre, null, "--train");
        List<String> names;
        boolean keep;
        if (folder) {
            names = trainSet.classNames();
            keep = !resetHead && names.equals(loaded.labels());
        } else {
            int maxLabel = maxLabel(trainSet);
            if (labelsFile != null) {
                names = Labels.fromFile(labelsFile);
                if (names.size() <= maxLabel) {
                    throw new VitException(labelsFile + ": " + names.size() + " class names, but " + train
                            + " has label " + maxLabel);
                }
                keep = !resetHead && names.equals(loaded.labels());
            } else if (!resetHead && maxLabel < c0.numClasses()) {
                names = loaded.labels();
                keep = true;
            } else {
                String[] generic = new String[maxLabel + 1];
                Arrays.setAll(generic, Integer::toString);
                names = List.of(generic);
                keep = false;
            }
        }
        TreeSet<Integer> present = new TreeSet<>();
        for (int i = 0; i < trainSet.size(); i++) {
            present.add(trainSet.label(i));
        }
        if (trainSet.size() == 0) {
            throw new VitException(train + ": the training set is empty");
        }
        if (present.size() < 2) {
            throw new VitException(train + ": the training set has a single class ('" + names.get(present.first())
                    + "'); fine-tuning needs at least two");
        }
        ViTModel model = keep ? loaded.model() : withNewHead(loaded.model(), names.size());
        ViTConfig c = model.config();
        int[] identity = new int[names.size()];
        Arrays.setAll(identity, i -> i);
        TrainData trainData = new TrainData(trainSet, identity, pre, c);
        TrainData valData = val == null ? null : validation(decoder, pre, names, present, c);

        Augmentation.Kind aug = augment != null ? Augmentation.Kind.parse(augment)
                : folder ? Augmentation.Kind.CROP_FLIP : Augmentation.Kind.NONE;
        Optimizer.Settings opt = switch (optimizerName.toLowerCase(Locale.ROOT)) {
            case "sgd" -> Optimizer.Settings.sgd(momentum, weightDecay == null ? 0 : weightDecay);
            case "adamw" -> Optimizer.Settings.adamw(weightDecay == null ? 0.01 : weightDecay);
            default -> throw new VitException("unknown --optimizer '" + optimizerName + "' (choose sgd or adamw)");
        };
        Finetune.Options options = new Finetune.Options(freezeBlocks, freezeEpochs, opt, Schedule.Kind.parse(schedule),
                lr, warmupSteps, stepEpochs, gamma, batch, epochs, maxSteps, labelSmoothing, gradClip,
                new Regularization(dropout, attnDropout, dropPath, seed), seed, !noShuffle, aug, logEvery,
                !noFeatureCache, cacheMemoryMb << 20);

        RunDirectory dir = resumed != null ? resumed : RunDirectory.create(output, overwrite);
        JsonNode config = ModelExport.timmConfig(c, model.weights().fcNorm() != null, names, pre,
                sourceConfig(loaded.weightsFile()));
        ObjectNode runState = JSON.createObjectNode();
        ArrayNode args = runState.putArray("args");
        List<String> given = spec.commandLine().getParseResult().originalArgs();
        // this command's arguments: those after its name (a resumed run parsed them without it)
        for (int i = given.indexOf(spec.name()) + 1; i < given.size(); i++) {
            String a = given.get(i);
            if (epochsOverride > 0 && a.startsWith("--epochs")) {
                if (a.equals("--epochs")) {
                    i++;
                }
                continue;
            }
            args.add(a);
        }
        if (epochsOverride > 0) {
            args.add("--epochs=" + epochsOverride);
        }
        PrintWriter out = spec.commandLine().getOut();
        try (TrainingEngine engine = backend.equals("cpu")
                ? new CpuTraining(model, EngineOptions.defaults().withThreads(threads)) : new ReferenceTraining(model)) {
            Listener listener = new Listener(out, epochs);
            Finetune run = new Finetune(engine, trainData, valData, options, dir, config, runState, listener);
            Finetune.Start start = Finetune.Start.FRESH;
            if (resumed != null) {
                restoreParameters(engine, resumed.checkpointModel().resolve(RunDirectory.MODEL));
                resumed.loadOptimizer(run.optimizer(), state);
                resumed.truncateLog(state.path("log_length").asLong());
                start = new Finetune.Start(state.path("epoch").asInt(), state.path("step").asLong());
                out.printf(Locale.ROOT, "resuming %s after epoch %d (step %d)%n", dir.path(), start.epoch(),
                        start.step());
            }
            try {
                long steps = run.run(start);
                out.printf(Locale.ROOT, "saved %s (%d steps)%n", dir.path().resolve(RunDirectory.MODEL), steps);
            } finally {
                listener.close();
            }
        }
        return 0;
    }

    /** The config.json beside the loaded weights (for its architecture name), or null. */
    private static JsonNode sourceConfig(Path weightsFile) {
        Path file = weightsFile.resolveSibling("config.json");
        try {
            return Files.isRegularFile(file) ? JSON.readTree(file.toFile()) : null;
        } catch (java.io.IOException e) {
            return null; // the loader has read it already; without it the name is a generic one
        }
    }

    private Dataset open(Path data, ImageDecoder decoder, Preprocessing pre, List<String> names, String option) {
        if (Files.isDirectory(data)) {
            return new ImageFolderDataset(data, f -> decoder.decode(f, pre.mode()));
        }
        if (!Files.isRegularFile(data)) {
            throw new VitException(data + ": " + option + " is neither a directory nor a file");
        }
        return IdxDataset.open(data, null, names);
    }

    private static int maxLabel(Dataset d) {
        int max = 0;
        for (int i = 0; i < d.size(); i++) {
            max = Math.max(max, d.label(i));
        }
        return max;
    }

    /** The validation set with its labels as head indices; every class in it must be in the training set. */
    private TrainData validation(ImageDecoder decoder, Preprocessing pre, List<String> names, TreeSet<Integer> present,
            ViTConfig c) {
        Dataset valSet = open(val, decoder, pre, names, "--val");
        int[] headIndex = new int[valSet.classNames().size()];
        boolean byName = Files.isDirectory(val);
        TreeSet<Integer> used = new TreeSet<>();
        for (int i = 0; i < valSet.size(); i++) {
            used.add(valSet.label(i));
        }
        for (int label : used) {
            int index = byName ? names.indexOf(valSet.classNames().get(label)) : label;
            if (index < 0 || !present.contains(index)) {
                String name = byName ? valSet.classNames().get(label) : Integer.toString(label);
                throw new VitException(val + ": validation class '" + name + "' is not in the training set " + train);
            }
            headIndex[label] = index;
        }
        return new TrainData(valSet, headIndex, pre, c);
    }

    /** The model with a head for {@code classes} classes, weights and bias zero. */
    private static ViTModel withNewHead(ViTModel m, int classes) {
        ViTConfig c = m.config();
        ViTConfig nc = new ViTConfig(c.imgHeight(), c.imgWidth(), c.patchSize(), c.inChans(), classes, c.embedDim(),
                c.depth(), c.numHeads(), c.mlpHidden(), c.qkvBias(), c.layerNormEps(), c.classToken(), c.globalPool());
        ViTWeights w = m.weights();
        ViTWeights.Linear head = new ViTWeights.Linear(Tensor.of(new float[classes * c.embedDim()], classes,
                c.embedDim()), Tensor.of(new float[classes], classes));
        return new ViTModel(nc, new ViTWeights(w.patchEmbed(), w.clsToken(), w.posEmbed(), w.blocks(), w.norm(),
                w.fcNorm(), head));
    }

    /** Sets every parameter from a checkpoint's model.safetensors. */
    private static void restoreParameters(TrainingEngine engine, Path file) {
        try (Safetensors st = Safetensors.open(file)) {
            for (Param p : engine.parameters()) {
                if (!st.contains(p.name()) || !Arrays.equals(st.entry(p.name()).shape(), p.shape())) {
                    throw new VitException(file + ": tensor '" + p.name() + "' is missing or has another shape than "
                            + Arrays.toString(p.shape()));
                }
                Tensor t = st.tensor(p.name());
                double[] v = new double[t.size()];
                for (int i = 0; i < v.length; i++) {
                    v[i] = t.get(i);
                }
                p.writeValues(v);
            }
        }
        engine.parametersChanged();
    }

    /** A progress bar per epoch on stderr and a summary line per epoch on stdout. */
    private final class Listener implements Finetune.Listener, AutoCloseable {
        private final PrintWriter out;
        private final int epochs;
        private Progress progress;
        private int epoch = -1;
        private int done;

        Listener(PrintWriter out, int epochs) {
            this.out = out;
            this.epochs = epochs;
        }

        @Override
        public void batch(int e, int seen, int total, double runningLoss) {
            if (e != epoch) {
                close();
                epoch = e;
                done = 0;
                progress = new Progress("epoch " + (e + 1) + "/" + epochs, total, quiet);
            }
            progress.advance(seen - done, String.format(Locale.ROOT, " loss %.4f", runningLoss));
            done = seen;
        }

        @Override
        public void logged(ObjectNode line) {
            if (!line.path("type").asText().equals("epoch")) {
                return;
            }
            close();
            StringBuilder s = new StringBuilder(String.format(Locale.ROOT,
                    "epoch %d/%d  loss %.4f  accuracy %.2f %%  lr %.3g  %.1f images/s", line.get("epoch").asInt(),
                    epochs, line.get("loss").asDouble(), 100 * line.get("accuracy").asDouble(),
                    line.get("lr").asDouble(), line.get("images_per_second").asDouble()));
            if (line.has("val_top1")) {
                s.append(String.format(Locale.ROOT, "  val top-1 %.2f %%  top-5 %.2f %%  loss %.4f",
                        100 * line.get("val_top1").asDouble(), 100 * line.get("val_top5").asDouble(),
                        line.get("val_loss").asDouble()));
            }
            out.println(s);
            out.flush();
        }

        @Override
        public void close() {
            if (progress != null) {
                progress.close();
                progress = null;
            }
        }
    }
}
