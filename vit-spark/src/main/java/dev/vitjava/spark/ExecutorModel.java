package dev.vitjava.spark;

import dev.vitjava.VitException;
import dev.vitjava.checkpoint.LoadedModel;
import dev.vitjava.cli.ModelSpec;
import dev.vitjava.engine.Backends;
import dev.vitjava.engine.EngineOptions;
import dev.vitjava.engine.InferenceEngine;
import dev.vitjava.engine.TraceRequest;
import dev.vitjava.image.Preprocessing;
import dev.vitjava.tensor.Tensor;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.spark.SparkConf;
import org.apache.spark.SparkEnv;
import org.apache.spark.util.LongAccumulator;

/**
 * The model and engine of this JVM. A Spark executor runs many tasks, several at once and for many jobs; loading the
 * model and starting an engine (its worker threads, packed weights, JIT warm-up) per task would cost more than the
 * inference, so the first task that needs a model creates its engine here and every later task and job of this JVM
 * reuses it. The engine gets as many threads as the executor has cores; concurrent tasks decode and preprocess in
 * parallel and hand their batches to the engine's own thread, which runs them one at a time on all those cores.
 */
final class ExecutorModel {

    /** What makes two engines interchangeable. */
    private record Key(ModelSpec model, String backend, int threads) {
    }

    private static final Map<Key, ExecutorModel> ENGINES = new HashMap<>();

    final LoadedModel loaded;
    final Preprocessing preprocessing;
    final InferenceEngine engine;

    /** Whether a task has used this engine yet: each engine counts once, whoever created it. */
    private boolean counted;

    private ExecutorModel(Key key) {
        Backends.find(key.backend).prepare(); // overlaps the cpu engine's warm-up with loading the model
        this.loaded = key.model.load(null);
        this.preprocessing = loaded.preprocessing();
        this.engine = new EngineThread(Backends.create(key.backend, loaded.model(),
                EngineOptions.defaults().withThreads(key.threads > 0 ? key.threads : executorCores())));
    }

    /** This JVM's engine for the job's model and backend, created now if there is none. */
    private static synchronized ExecutorModel of(JobOptions options) {
        Key key = new Key(options.model(), options.backend(), options.threads());
        return ENGINES.computeIfAbsent(key, ExecutorModel::new);
    }

    /**
     * This JVM's engine for the job's model and backend, created on first use; counts in {@code created} each engine
     * the first time a task uses it.
     */
    static synchronized ExecutorModel get(JobOptions options, LongAccumulator created) {
        ExecutorModel m = of(options);
        if (!m.counted) {
            m.counted = true;
            created.add(1);
        }
        return m;
    }

    /**
     * With a local master the driver JVM is the only executor: its engine is created here, before the job, by the
     * driver (the first task would create it at the same point), so that a model that cannot be loaded fails the
     * command with its own one-line error instead of failing a task. Other masters: nothing.
     */
    static void createIfLocal(JobOptions options) {
        SparkEnv env = SparkEnv.get();
        if (env != null && LOCAL.matcher(env.conf().get("spark.master", "")).matches()) {
            of(options);
        }
    }

    private static final Pattern LOCAL = Pattern.compile("local(?:\\[(\\d+|\\*)(?:,\\d+)?])?");

    /**
     * The cores this executor runs tasks on: N for {@code local[N]} (the driver is the only executor), else
     * {@code spark.executor.cores}, else the machine's processors (standalone and YARN without that setting).
     */
    static int executorCores() {
        SparkEnv env = SparkEnv.get();
        SparkConf conf = env != null ? env.conf() : new SparkConf();
        int machine = Runtime.getRuntime().availableProcessors();
        Matcher local = LOCAL.matcher(conf.get("spark.master", ""));
        if (local.matches()) {
            String n = local.group(1);
            return n == null ? 1 : n.equals("*") ? machine : Integer.parseInt(n);
        }
        return conf.getInt("spark.executor.cores", machine);
    }

    /**
     * Engines need not be thread-safe: one thread of this JVM calls the engine, and the tasks hand it their batches
     * and wait. The tasks' own threads taking turns on the engine instead (each of them the cpu engine's worker 0 in
     * turn) made the same job slower: ViT-Ti, 1000 images, local[2], 54.2 and 54.5 s against 47.8-49.5 s with this
     * thread (docs/distributed.md).
     */
    static final class EngineThread implements InferenceEngine {

        private final InferenceEngine engine;
        private final ExecutorService thread = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "vit-engine");
            t.setDaemon(true);
            return t;
        });

        EngineThread(InferenceEngine engine) {
            this.engine = engine;
        }

        @Override
        public String name() {
            return engine.name();
        }

        @Override
        public Result forward(Tensor pixels, TraceRequest trace) {
            return call(() -> engine.forward(pixels, trace));
        }

        @Override
        public void warmUp(int batch, int height, int width) {
            call(() -> {
                engine.warmUp(batch, height, width);
                return null;
            });
        }

        @Override
        public int threads() {
            return engine.threads();
        }

        /** Runs the work on the engine's thread and returns its result, or throws what it threw. */
        private <T> T call(Callable<T> work) {
            Future<T> result = thread.submit(work);
            try {
                return result.get();
            } catch (InterruptedException e) {
                result.cancel(false);
                Thread.currentThread().interrupt();
                throw new VitException("interrupted while the engine ran a batch");
            } catch (ExecutionException e) {
                if (e.getCause() instanceof RuntimeException r) {
                    throw r;
                }
                if (e.getCause() instanceof Error err) {
                    throw err;
                }
                throw new VitException(String.valueOf(e.getCause()), e.getCause());
            }
        }
    }
}
