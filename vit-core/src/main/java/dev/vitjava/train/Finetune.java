package dev.vitjava.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.vitjava.VitException;
import dev.vitjava.tensor.Tensor;
import dev.vitjava.train.TrainingEngine.Input;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The fine-tuning loop: epochs of shuffled (or file-order) batches, a train-mode step and an optimizer step per
 * batch, the learning-rate schedule, freezing and unfreezing, validation, logging and a checkpoint per epoch.
 * While the bottom blocks are frozen and nothing random happens below them, their output is computed once per
 * sample and kept in a {@link FeatureCache}.
 */
public final class Finetune {

    /**
     * What the command line sets.
     *
     * @param freezeBlocks   blocks (with the embedding) frozen while frozen; 0 trains everything
     * @param freezeEpochs   epochs trained frozen before everything unfreezes, or -1 for all of them
     * @param maxSteps       stop after this many optimizer steps in total, or -1
     * @param logEvery       also log every N steps, or 0
     * @param featureCache   whether to cache the frozen part's output when it cannot change
     * @param cacheBytes     memory for cached features; beyond it they go to a file in the output directory
     */
    public record Options(int freezeBlocks, int freezeEpochs, Optimizer.Settings optimizer, Schedule.Kind schedule,
            double lr, int warmupSteps, int stepEpochs, double gamma, int batch, int epochs, long maxSteps,
            double labelSmoothing, double gradClip, Regularization regularization, long seed, boolean shuffle,
            Augmentation.Kind augment, int logEvery, boolean featureCache, long cacheBytes) {

        public Options {
            if (batch <= 0) {
                throw new VitException("--batch must be positive, got " + batch);
            }
            if (epochs <= 0) {
                throw new VitException("--epochs must be positive, got " + epochs);
            }
            if (freezeBlocks < 0) {
                throw new VitException("--freeze-blocks must not be negative, got " + freezeBlocks);
            }
            if (!(labelSmoothing >= 0 && labelSmoothing < 1)) {
                throw new VitException("--label-smoothing must be in [0, 1), got " + labelSmoothing);
            }
            if (gradClip < 0) {
                throw new VitException("--grad-clip must not be negative, got " + gradClip);
            }
        }

        /** Blocks frozen during {@code epoch}. */
        public int frozenAt(int epoch) {
            return freezeEpochs < 0 || epoch < freezeEpochs ? freezeBlocks : 0;
        }
    }

    /** Receives progress: per batch for a progress bar, and every log line. */
    public interface Listener {
        void batch(int epoch, int done, int total, double runningLoss);

        void logged(ObjectNode line);
    }

    /** Where a run starts: from scratch, or after a checkpoint's epoch and step. */
    public record Start(int epoch, long step) {
        public static final Start FRESH = new Start(0, 0);
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    private final TrainingEngine engine;
    private final TrainData train;
    private final TrainData val;
    private final Options o;
    private final RunDirectory out;
    private final com.fasterxml.jackson.databind.JsonNode config;
    private final ObjectNode runState;
    private final Listener listener;
    private final Optimizer optimizer;

    /**
     * @param config   the config.json written with every model
     * @param runState what a resumed run needs besides the position (the command's arguments), saved in each
     *                 checkpoint's state.json
     */
    public Finetune(TrainingEngine engine, TrainData train, TrainData val, Options options, RunDirectory out,
            com.fasterxml.jackson.databind.JsonNode config, ObjectNode runState, Listener listener) {
        this.engine = engine;
        this.train = train;
        this.val = val;
        this.o = options;
        this.out = out;
        this.config = config;
        this.runState = runState;
        this.listener = listener;
        this.optimizer = new Optimizer(options.optimizer());
        if (options.freezeBlocks() > engine.config().depth()) {
            throw new VitException("--freeze-blocks " + options.freezeBlocks() + " is larger than the model's depth "
                    + engine.config().depth());
        }
    }

    public Optimizer optimizer() {
        return optimizer;
    }

    public long stepsPerEpoch() {
        return (train.size() + o.batch() - 1) / o.batch();
    }

    /** Runs the remaining epochs; returns the number of optimizer steps taken in total. */
    public long run(Start start) {
        long perEpoch = stepsPerEpoch();
        long total = o.epochs() * perEpoch;
        if (o.maxSteps() >= 0) {
            total = Math.min(total, o.maxSteps());
        }
        Schedule schedule = new Schedule(o.schedule(), o.lr(), o.warmupSteps(), total, (int) perEpoch,
                o.stepEpochs(), o.gamma());
        Augmentation aug = new Augmentation(o.augment(), o.seed());
        List<Param> params = engine.parameters();
        int depth = engine.config().depth();
        int tokensTimesD = engine.config().numTokens() * engine.config().embedDim();
        long step = start.step();
        FeatureCache cache = null;
        int cachedFor = -1;
        try {
            for (int epoch = start.epoch(); epoch < o.epochs() && step < total; epoch++) {
                int k = o.frozenAt(epoch);
                engine.freeze(k);
                // worth it only when a later epoch reads what this one computes
                boolean cacheable = o.featureCache() && o.augment() == Augmentation.Kind.NONE && k > 0
                        && o.regularization().deterministicBelow(k, depth)
                        && (cachedFor == k || epoch + 1 < o.epochs() && o.frozenAt(epoch + 1) == k);
                if (!cacheable || cachedFor != k) {
                    if (cache != null) {
                        cache.close();
                    }
                    cache = cacheable ? new FeatureCache(train.size(), tokensTimesD, o.cacheBytes(), out.path()) : null;
                    cachedFor = cacheable ? k : -1;
                }
                int[] order = order(epoch);
                long t0 = System.nanoTime();
                double lossSum = 0;
                long correct = 0;
                int seen = 0;
                for (int from = 0; from < order.length && step < total; from += o.batch()) {
                    int n = Math.min(o.batch(), order.length - from);
                    int[] labels = new int[n];
                    for (int i = 0; i < n; i++) {
                        labels[i] = train.label(order[from + i]);
                    }
                    Input input = cache != null ? cached(cache, order, from, n, tokensTimesD, aug, epoch)
                            : Input.of(train.pixels(order, from, n, aug, epoch));
                    TrainingEngine.StepResult r = engine.step(input, labels, o.labelSmoothing(), o.regularization(),
                            step);
                    double lr = schedule.at(step);
                    if (!Double.isFinite(r.loss())) {
                        throw new VitException("loss is " + r.loss() + " at step " + (step + 1) + " (epoch "
                                + (epoch + 1) + ", learning rate " + lr + "); try a lower --lr or --grad-clip");
                    }
                    double norm = optimizer.step(params, k, lr, o.gradClip());
                    if (!Double.isFinite(norm)) {
                        throw new VitException("gradient is " + norm + " at step " + (step + 1) + " (epoch "
                                + (epoch + 1) + ", learning rate " + lr + "); try a lower --lr or --grad-clip");
                    }
                    engine.parametersChanged();
                    step++;
                    lossSum += r.loss() * n;
                    correct += correct(r.logits(), labels);
                    seen += n;
                    listener.batch(epoch, seen, order.length, lossSum / seen);
                    if (o.logEvery() > 0 && step % o.logEvery() == 0) {
                        ObjectNode line = JSON.createObjectNode().put("type", "step").put("epoch", epoch + 1)
                                .put("step", step).put("loss", r.loss()).put("lr", lr).put("grad_norm", norm);
                        log(line);
                    }
                }
                double seconds = (System.nanoTime() - t0) / 1e9;
                ObjectNode line = JSON.createObjectNode().put("type", "epoch").put("epoch", epoch + 1)
                        .put("step", step).put("frozen_blocks", k).put("loss", lossSum / seen)
                        .put("accuracy", (double) correct / seen).put("lr", schedule.at(Math.max(0, step - 1)))
                        .put("images_per_second", seen / seconds).put("seconds", seconds)
                        .put("feature_cache", cache != null);
                if (val != null) {
                    validate(line);
                }
                out.saveModel(params, config);
                log(line);
                ObjectNode state = runState.deepCopy();
                state.put("epoch", epoch + 1).put("step", step).put("log_length", out.logLength());
                out.saveCheckpoint(params, config, optimizer, state);
            }
        } finally {
            if (cache != null) {
                cache.close();
            }
        }
        return step;
    }

    private void log(ObjectNode line) {
        out.log(line.toString());
        listener.logged(line);
    }

    /** Features of the batch: from the cache, or computed (eval mode) for the samples not seen yet and kept. */
    private Input cached(FeatureCache cache, int[] order, int from, int n, int per, Augmentation aug, int epoch) {
        float[] f = new float[n * per];
        int missing = 0;
        for (int i = 0; i < n; i++) {
            if (!cache.has(order[from + i])) {
                missing++;
            }
        }
        if (missing > 0) {
            int[] todo = new int[missing];
            int[] slot = new int[missing];
            for (int i = 0, m = 0; i < n; i++) {
                if (!cache.has(order[from + i])) {
                    todo[m] = order[from + i];
                    slot[m++] = i;
                }
            }
            Tensor pixels = train.pixels(todo, 0, missing, aug, epoch);
            float[] computed = engine.features(pixels);
            for (int m = 0; m < missing; m++) {
                cache.put(todo[m], computed, m * per);
            }
        }
        for (int i = 0; i < n; i++) {
            cache.get(order[from + i], f, i * per);
        }
        return Input.ofFeatures(f, n);
    }

    /** Samples of an epoch: a permutation seeded by (seed, epoch), or file order. */
    int[] order(int epoch) {
        int[] order = new int[train.size()];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        if (o.shuffle()) {
            SplittableRandom rnd = new SplittableRandom(o.seed() * 31 + epoch);
            for (int i = order.length - 1; i > 0; i--) {
                int j = rnd.nextInt(i + 1);
                int t = order[i];
                order[i] = order[j];
                order[j] = t;
            }
        }
        return order;
    }

    private int correct(float[] logits, int[] labels) {
        int classes = engine.config().numClasses();
        int c = 0;
        for (int n = 0; n < labels.length; n++) {
            int best = 0;
            for (int j = 1; j < classes; j++) {
                if (logits[n * classes + j] > logits[n * classes + best]) {
                    best = j;
                }
            }
            c += best == labels[n] ? 1 : 0;
        }
        return c;
    }

    /** Top-1, top-5 and mean cross-entropy over the validation set, in eval mode. */
    private void validate(ObjectNode line) {
        int classes = engine.config().numClasses();
        int[] order = new int[val.size()];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        Augmentation none = new Augmentation(Augmentation.Kind.NONE, 0);
        long top1 = 0;
        long top5 = 0;
        double loss = 0;
        for (int from = 0; from < order.length; from += o.batch()) {
            int n = Math.min(o.batch(), order.length - from);
            float[] logits = engine.logits(Input.of(val.pixels(order, from, n, none, 0)));
            double[] ld = new double[n * classes];
            int[] labels = new int[n];
            for (int i = 0; i < n; i++) {
                labels[i] = val.label(from + i);
                for (int j = 0; j < classes; j++) {
                    ld[i * classes + j] = logits[i * classes + j];
                }
                int rank = 0;
                for (int j = 0; j < classes; j++) {
                    if (logits[i * classes + j] > logits[i * classes + labels[i]]) {
                        rank++;
                    }
                }
                top1 += rank == 0 ? 1 : 0;
                top5 += rank < 5 ? 1 : 0;
            }
            loss += Layers.crossEntropy(ld, labels, classes, 0, new double[ld.length]) * n;
        }
        line.put("val_loss", loss / order.length).put("val_top1", (double) top1 / order.length)
                .put("val_top5", (double) top5 / order.length);
    }

    /** The run state's directory, for messages. */
    public Path output() {
        return out.path();
    }
}
