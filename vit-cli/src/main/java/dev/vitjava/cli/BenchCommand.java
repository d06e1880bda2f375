package dev.vitjava.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.vitjava.VitException;
import dev.vitjava.checkpoint.LoadedModel;
import dev.vitjava.checkpoint.SafetensorsWriter;
import dev.vitjava.engine.DeviceProfile;
import dev.vitjava.engine.InferenceEngine;
import dev.vitjava.engine.MemoryEstimate;
import dev.vitjava.engine.Profile;
import dev.vitjava.model.RandomWeights;
import dev.vitjava.model.StandardArchitectures;
import dev.vitjava.model.ViTConfig;
import dev.vitjava.model.ViTModel;
import dev.vitjava.tensor.Tensor;
import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * Times forward passes: a real checkpoint ({@code --model}) or a named architecture with random weights built in
 * memory ({@code --arch}), random normal pixels at the trained size, {@code --warmup} untimed passes, then
 * {@code --iters} timed ones. Reports ms per image (median, min, max), images/s, the achieved GFLOP/s from an
 * analytic FLOP count, load and first-inference times, and the engine's own breakdown ({@link
 * InferenceEngine#profile}: the cpu engine's stages, the tornado engine's device profile).
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = {"Benchmark a backend: ms per image, images/s, GFLOP/s, time per stage.",
            "Without --model, --arch NAME (e.g. vit_base_patch16_224) builds random weights."})
final class BenchCommand implements Callable<Integer> {

    /** Passes beyond this take days on any model: a typo, not a benchmark. */
    private static final int MAX_PASSES = 1_000_000;

    @Mixin
    ModelOptions modelOptions;

    @Mixin
    EngineOptionsMixin engineOptions;

    @Spec
    CommandSpec spec;

    @Option(names = "--arch", paramLabel = "NAME",
            description = "Architecture with random weights instead of a checkpoint (timm names, e.g."
                    + " vit_base_patch16_224, or torchvision's vit_b_16).")
    String arch;

    @Option(names = "--num-classes", paramLabel = "N", defaultValue = "1000",
            description = "Classes of the --arch model (default: ${DEFAULT-VALUE}).")
    int numClasses;

    @Option(names = "--seed", paramLabel = "N", defaultValue = "0",
            description = "Seed of the random weights and pixels (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = {"-b", "--batch", "--batch-size"}, paramLabel = "B", defaultValue = "1",
            converter = OptionValues.Positive.class,
            description = "Images per forward pass (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--warmup", paramLabel = "W", defaultValue = "3",
            description = "Untimed passes before timing (default: ${DEFAULT-VALUE}).")
    int warmup;

    @Option(names = "--iters", paramLabel = "N", defaultValue = "10", converter = OptionValues.Positive.class,
            description = "Timed passes (default: ${DEFAULT-VALUE}).")
    int iters;

    @Option(names = "--format", paramLabel = "FORMAT", defaultValue = "text",
            description = "text or json (one JSON object) (default: ${DEFAULT-VALUE}).")
    String format;

    @Option(names = "--save-weights", paramLabel = "FILE",
            description = "Also write the --arch random weights as a timm-named safetensors file (to run the same"
                    + " model in PyTorch or ONNX Runtime).")
    Path saveWeights;

    @Override
    public Integer call() {
        validate();
        engineOptions.prepare();
        long t0 = System.nanoTime();
        ViTModel model;
        String modelName;
        if (arch != null) {
            ViTConfig config = StandardArchitectures.byName(arch, numClasses).orElseThrow(() -> new VitException(
                    "unknown architecture '" + arch + "' (expected e.g. vit_base_patch16_224 or vit_b_16)"));
            MemoryEstimate.checkWeights(config);
            model = new ViTModel(config, RandomWeights.create(config, seed));
            modelName = arch + " (random weights)";
            if (saveWeights != null) {
                SafetensorsWriter.write(saveWeights, model.weights().toTimmStateDict(),
                        Map.of("format", "pt", "source", "vit bench --arch " + arch + " --seed " + seed));
            }
        } else {
            LoadedModel loaded = modelOptions.load();
            model = loaded.model();
            modelName = loaded.weightsFile().toString();
        }
        ViTConfig c = model.config();
        long parameters = model.weights().parameterCount();
        MemoryEstimate.checkForward(c, batch, (long) c.inChans() * c.imgHeight() * c.imgWidth(), c.numTokens(),
                false, false);
        long t1 = System.nanoTime();
        InferenceEngine engine = engineOptions.create(model);
        model = null; // the engine keeps what it needs; let the source weights go
        try (engine) {
            engine.warmUp(batch, c.imgHeight(), c.imgWidth());
            long t2 = System.nanoTime();
            Tensor pixels = RandomWeights.pixels(seed + 1, batch, c.inChans(), c.imgHeight(), c.imgWidth());
            engine.forward(pixels, false);
            long t3 = System.nanoTime();
            long sinceStart = ManagementFactory.getRuntimeMXBean().getUptime();
            for (int i = 0; i < warmup; i++) {
                engine.forward(pixels, false);
            }
            Profile profile = engine.profile(pixels, iters);
            double[] msPerImage = new double[iters];
            for (int i = 0; i < iters; i++) {
                msPerImage[i] = profile.wallNanos()[i] / 1e6 / batch;
            }
            Map<String, Double> stages = new LinkedHashMap<>();
            profile.stageNanos().forEach((stage, n) -> stages.put(stage, n / 1e6 / (iters * batch)));
            Report r = new Report(engineOptions.backend, modelName, c, parameters, batch, engine.threads(), warmup,
                    msPerImage, (t1 - t0) / 1e6, (t2 - t1) / 1e6, (t3 - t2) / 1e6, sinceStart, stages,
                    profile.device());
            PrintWriter out = spec.commandLine().getOut();
            out.print(format.equals("json") ? r.json() : r.text());
            out.flush();
        }
        return 0;
    }

    /** Usage errors (exit code 2) before any work. */
    private void validate() {
        if (iters > MAX_PASSES) {
            throw new ParameterException(spec.commandLine(), "--iters must be between 1 and " + MAX_PASSES + ", got "
                    + iters);
        }
        if (warmup < 0 || warmup > MAX_PASSES) {
            throw new ParameterException(spec.commandLine(), "--warmup must be between 0 and " + MAX_PASSES + ", got "
                    + warmup);
        }
        if (numClasses < 1) {
            throw new ParameterException(spec.commandLine(), "--num-classes must be at least 1, got " + numClasses);
        }
        if (!format.equals("text") && !format.equals("json")) {
            throw new ParameterException(spec.commandLine(), "unknown --format '" + format
                    + "' (expected text or json)");
        }
        if (arch != null && modelOptions.model != null) {
            throw new ParameterException(spec.commandLine(), "give either --model or --arch, not both");
        }
        if (saveWeights != null && arch == null) {
            throw new ParameterException(spec.commandLine(), "--save-weights needs --arch (a checkpoint is already"
                    + " on disk)");
        }
    }

    /** FLOPs of one image's forward pass: the matrix products (2 per multiply-add), not norms or softmax. */
    static double flopsPerImage(ViTConfig c) {
        double d = c.embedDim();
        double g = c.gridHeight() * c.gridWidth();
        double t = c.numPrefixTokens() + g;
        double patch = 2 * g * d * c.inChans() * c.patchSize() * c.patchSize();
        double block = 2 * t * d * 3 * d + 2 * 2 * t * t * d + 2 * t * d * d + 2 * 2 * t * d * c.mlpHidden();
        return patch + c.depth() * block + 2 * d * c.numClasses();
    }

    private record Report(String backend, String model, ViTConfig config, long parameters, int batch, int threads,
            int warmup, double[] msPerImage, double loadMs, double engineMs, double firstMs, long sinceStart,
            Map<String, Double> stages, DeviceProfile device) {

        double median() {
            double[] s = msPerImage.clone();
            Arrays.sort(s);
            int n = s.length;
            return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
        }

        double min() {
            return Arrays.stream(msPerImage).min().orElse(0);
        }

        double max() {
            return Arrays.stream(msPerImage).max().orElse(0);
        }

        double gflops() {
            return flopsPerImage(config) / 1e9 / (median() / 1e3);
        }

        String json() {
            ObjectMapper m = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
            ObjectNode o = m.createObjectNode();
            o.put("backend", backend);
            o.put("model", model);
            o.put("parameters", parameters);
            o.put("input", config.inChans() + "x" + config.imgHeight() + "x" + config.imgWidth());
            o.put("batch", batch);
            o.put("threads", threads);
            o.put("warmup", warmup);
            o.put("iters", msPerImage.length);
            o.put("ms_per_image_median", round(median()));
            o.put("ms_per_image_min", round(min()));
            o.put("ms_per_image_max", round(max()));
            o.put("images_per_s", round(1000 / median()));
            o.put("gflop_per_image", round(flopsPerImage(config) / 1e9));
            o.put("gflops", round(gflops()));
            o.put("load_ms", round(loadMs));
            o.put("engine_init_ms", round(engineMs));
            o.put("first_forward_ms", round(firstMs));
            o.put("first_result_since_jvm_start_ms", sinceStart);
            if (!stages.isEmpty()) {
                ObjectNode s = o.putObject("stages_ms_per_image");
                stages.forEach((k, v) -> s.put(k, round(v)));
            }
            if (device != null) {
                ObjectNode dev = o.putObject("device_profile");
                dev.put("device", device.device());
                dev.put("runs", device.runs());
                dev.put("jit_compile_ms", round(device.jitCompileNanos() / 1e6));
                dev.put("wall_ms_per_batch", round(device.wallNanos() / 1e6));
                dev.put("kernel_ms_per_batch", round(device.kernelNanos() / 1e6));
                dev.put("copy_in_ms_per_batch", round(device.copyInNanos() / 1e6));
                dev.put("copy_out_ms_per_batch", round(device.copyOutNanos() / 1e6));
                dev.put("dispatch_ms_per_batch", round(device.dispatchNanos() / 1e6));
                dev.put("bytes_in", device.bytesIn());
                dev.put("bytes_out", device.bytesOut());
                ObjectNode byMethod = dev.putObject("kernel_ms_by_method");
                device.nanosByMethod().forEach((k, v) -> byMethod.put(k, round(v / 1e6)));
                ObjectNode kernels = dev.putObject("kernel_ms");
                device.kernels().forEach(k -> kernels.put(k.name(), round(k.nanos() / 1e6)));
            }
            try {
                return m.writeValueAsString(o) + System.lineSeparator();
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                throw new IllegalStateException(e);
            }
        }

        String text() {
            StringBuilder b = new StringBuilder();
            b.append(String.format(Locale.ROOT, "model     %s, %.1fM parameters, input %dx%dx%dx%d%n", model,
                    parameters / 1e6, batch, config.inChans(), config.imgHeight(), config.imgWidth()));
            b.append(String.format(Locale.ROOT, "backend   %s%s, %d warm-up + %d timed passes%n", backend,
                    threads > 0 ? " (" + threads + " threads)" : "", warmup, msPerImage.length));
            b.append(String.format(Locale.ROOT,
                    "load      %.0f ms model, %.0f ms engine, %.0f ms first forward (%d ms after JVM start)%n",
                    loadMs, engineMs, firstMs, sinceStart));
            b.append(String.format(Locale.ROOT, "ms/image  median %.2f  min %.2f  max %.2f%n", median(), min(),
                    max()));
            b.append(String.format(Locale.ROOT, "images/s  %.2f%n", 1000 / median()));
            b.append(String.format(Locale.ROOT, "GFLOP/s   %.1f (%.2f GFLOP per image)%n", gflops(),
                    flopsPerImage(config) / 1e9));
            if (!stages.isEmpty()) {
                double total = stages.values().stream().mapToDouble(Double::doubleValue).sum();
                b.append("stages    ms/image (mean of the timed passes)\n");
                stages.forEach((k, v) -> b.append(String.format(Locale.ROOT, "  %-14s %8.2f  %5.1f%%%n", k, v,
                        100 * v / total)));
            }
            if (device != null) {
                b.append(String.format(Locale.ROOT, "device    %s (TornadoVM profiler, mean of %d passes, per batch)%n",
                        device.device(), device.runs()));
                b.append(String.format(Locale.ROOT, "  jit compile    %8.2f ms (once per plan, not in the timings)%n",
                        device.jitCompileNanos() / 1e6));
                b.append(String.format(Locale.ROOT, "  kernels        %8.2f ms%n", device.kernelNanos() / 1e6));
                b.append(String.format(Locale.ROOT, "  copy in        %8.2f ms (%d bytes)%n", device.copyInNanos() / 1e6,
                        device.bytesIn()));
                b.append(String.format(Locale.ROOT, "  copy out       %8.2f ms (%d bytes)%n", device.copyOutNanos() / 1e6,
                        device.bytesOut()));
                b.append(String.format(Locale.ROOT, "  dispatch       %8.2f ms%n", device.dispatchNanos() / 1e6));
                b.append("  kernel time by method\n");
                device.nanosByMethod().forEach((k, v) -> b.append(String.format(Locale.ROOT, "    %-28s %8.2f ms  %5.1f%%%n",
                        k, v / 1e6, 100.0 * v / Math.max(1, device.kernelNanos()))));
            }
            return b.toString();
        }

        private static double round(double v) {
            return Math.round(v * 1000) / 1000.0;
        }
    }
}
