package dev.vitjava.cli;

import dev.vitjava.VitException;
import dev.vitjava.engine.Backends;
import dev.vitjava.engine.EngineOptions;
import dev.vitjava.engine.EngineProvider;
import dev.vitjava.engine.InferenceEngine;
import dev.vitjava.model.ViTModel;
import java.util.Map;
import java.util.Set;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * Which backend runs the model, and its settings. Backend-specific options go into {@link EngineOptions#settings()}
 * under the name the backend documents (the tornado backend reads {@code device}); the CLI knows backends only by
 * name, through {@link Backends}.
 */
final class EngineOptionsMixin {

    // Named once: the option below and the guess in runsCpuBackend read the same spelling. No short form: -b is the
    // batch size in timm's and torchvision's scripts (and here).
    private static final String BACKEND = "--backend";
    private static final String DEFAULT_BACKEND = "cpu";
    private static final String FALLBACK_BACKEND = "reference";
    private static final int MAX_THREADS_PER_CPU = 8;

    @Spec(Spec.Target.MIXEE)
    CommandSpec command;

    @Option(names = BACKEND, paramLabel = "NAME", defaultValue = DEFAULT_BACKEND,
            description = "Backend: reference, cpu, tornado (default: ${DEFAULT-VALUE}).")
    String backend;

    @Option(names = "--threads", paramLabel = "N", defaultValue = "0",
            description = "Worker threads for CPU backends (default: one per core).")
    int threads;

    @Option(names = "--device", paramLabel = "ID",
            description = "Device for the tornado backend, as backend:device (e.g. 0:1; see 'vit devices').")
    String device;

    @Option(names = "--precision", paramLabel = "P",
            description = "tornado: weight matrices in fp32 or fp16 (half floats, float32 accumulation; needs a "
                    + "device with half precision, e.g. any CUDA GPU) (default: fp32).")
    String precision;

    @Option(names = "--fast-math", description = "tornado: OpenCL's -cl-fast-relaxed-math -cl-mad-enable (TornadoVM's"
            + " default; off here to keep IEEE float results).")
    boolean fastMath;

    @Option(names = "--kernels", paramLabel = "FORM",
            description = "tornado: kernel forms: cpu (float8, no local memory), gpu (local-memory tiles) or auto (by "
                    + "device type) (default: auto).")
    String kernels;

    @Option(names = "--tiles", paramLabel = "GXxGYxGK,QxKV",
            description = "tornado: the gpu kernel forms' tile sizes: GEMM work-group (GX x GY work-items, 4x4 outputs"
                    + " each) and step GK, flash attention's queries Q and staged keys KV per group (default: GEMM "
                    + "16x16x16 and attention 64x32, halved where the device's work-group size or local memory is "
                    + "smaller).")
    String tiles;

    @Option(names = "--device-memory", paramLabel = "SIZE",
            description = "tornado: TornadoVM's device heap, e.g. 16GB (default: TornadoVM's 4GB).")
    String deviceMemory;

    @Option(names = "--cuda-graph", description = "tornado on a PTX device: replay each task graph as a CUDA graph.")
    boolean cudaGraph;

    @Option(names = "--print-kernels", description = "tornado: print each generated kernel (OpenCL C or PTX).")
    boolean printKernels;

    @Option(names = "--thread-info", description = "tornado: print each kernel's launch grid.")
    boolean threadInfo;

    /** Backends that a build can add, and what the user must do to get one (for the error when it is missing). */
    static final Map<String, String> OPTIONAL_BACKENDS = Map.of("tornado", "it needs a TornadoVM SDK "
            + "(https://github.com/beehive-lab/TornadoVM); install one, set TORNADOVM_HOME, and rebuild with ./build "
            + "so the vit-tornado module is included");

    /** The commands that run a model and take --backend (finetune declares its own; a test checks they agree). */
    static final Set<String> MODEL_COMMANDS = Set.of("classify", "eval", "run", "bench", "finetune",
            "attention", "embed");

    /**
     * Starts the default backend's preparation (the cpu engine's JIT warm-up) before the command line is parsed,
     * when {@code args} run a model and name no other backend: the CLI's own start-up takes about 0.3 s that the
     * warm-up can use. A wrong guess costs an idle daemon thread; {@link #prepare()} later does nothing twice.
     */
    static void prestart(String[] args) {
        if (runsCpuBackend(args)) {
            Backends.named(DEFAULT_BACKEND).filter(p -> p.unavailableReason().isEmpty())
                    .ifPresent(EngineProvider::prepare);
        }
    }

    /** Whether {@code args} run a model command without naming a backend other than cpu (the default). */
    static boolean runsCpuBackend(String[] args) {
        if (args.length == 0 || !MODEL_COMMANDS.contains(args[0])) {
            return false;
        }
        for (int i = 1; i < args.length; i++) {
            String a = args[i];
            String value = a.equals(BACKEND) ? (i + 1 < args.length ? args[i + 1] : "")
                    : a.startsWith(BACKEND + "=") ? a.substring(BACKEND.length() + 1) : DEFAULT_BACKEND;
            if (!value.equals(DEFAULT_BACKEND)) {
                return false;
            }
        }
        return true;
    }

    /** Starts the backend's model-independent preparation, so it overlaps loading the model. */
    void prepare() {
        checkThreads();
        provider().prepare();
    }

    /** More threads than a few per core only cost memory (a stack and buffers each) and time. */
    private void checkThreads() {
        int max = MAX_THREADS_PER_CPU * Runtime.getRuntime().availableProcessors();
        if (threads < 0 || threads > max) {
            throw new ParameterException(command.commandLine(), "--threads must be between 0 (one per core) and " + max
                    + " (" + MAX_THREADS_PER_CPU + " per core), not " + threads);
        }
    }

    InferenceEngine create(ViTModel model) {
        checkThreads();
        return provider().create(model, EngineOptions.defaults().withThreads(threads).with("device", device)
                .with("precision", precision).with("device-memory", deviceMemory).with("kernels", kernels)
                .with("tiles", tiles).with("fast-math", flag(fastMath)).with("cuda-graph", flag(cudaGraph))
                .with("print-kernels", flag(printKernels)).with("thread-info", flag(threadInfo)));
    }

    /** A flag as a setting: "true", or absent (so the backend's own default, or its system property, applies). */
    private static String flag(boolean on) {
        return on ? "true" : null;
    }

    private EngineProvider provider() {
        if (backend.equals(DEFAULT_BACKEND) && !command.commandLine().getParseResult().hasMatchedOption(BACKEND)) {
            // a Java that cannot run the default backend (no vector module, and no restart with it: see Relaunch)
            // still runs the command, on the reference engine
            Backends.named(DEFAULT_BACKEND).flatMap(EngineProvider::unavailableReason).ifPresent(why -> {
                backend = FALLBACK_BACKEND;
                command.commandLine().getErr().println("vit: running on the reference engine (slower): the "
                        + DEFAULT_BACKEND + " backend is not available: " + why);
            });
        }
        String missing = OPTIONAL_BACKENDS.get(backend);
        if (missing != null && Backends.named(backend).isEmpty()) {
            throw new VitException("the " + backend + " backend is not available: " + missing);
        }
        return Backends.find(backend);
    }
}
