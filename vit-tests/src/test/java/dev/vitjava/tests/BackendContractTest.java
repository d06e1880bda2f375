package dev.vitjava.tests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vitjava.VitException;
import dev.vitjava.checkpoint.LoadedModel;
import dev.vitjava.engine.Backends;
import dev.vitjava.engine.EngineOptions;
import dev.vitjava.engine.EngineProvider;
import dev.vitjava.engine.InferenceEngine;
import dev.vitjava.engine.ReferenceEngine;
import dev.vitjava.engine.Trace;
import dev.vitjava.engine.TraceRequest;
import dev.vitjava.model.RandomWeights;
import dev.vitjava.model.ViTConfig;
import dev.vitjava.model.ViTConfig.GlobalPool;
import dev.vitjava.model.ViTModel;
import dev.vitjava.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.ToDoubleFunction;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The contract every backend found by {@link Backends#all()} meets, run once per backend that can run here
 * (reference, cpu, and tornado where a TornadoVM SDK is present) over one list of cases: every PyTorch golden case
 * with both of its inputs (batch 2 and 1), random configurations with odd sizes (head dims that are no multiple of
 * the vector length, odd token counts, non-square and resized inputs, no class token, average pooling, batches 1 to
 * 9), trace requests, bad inputs, and the CLI's classify on the shipped samples. Every traced tensor is compared,
 * not only the logits. What is specific to one backend (determinism, device selection, plan caching) stays in its
 * own test class.
 */
class BackendContractTest {

    /**
     * How close a backend must be: per trace key to the reference engine and to PyTorch's float32 outputs, its
     * logits to PyTorch's, and its class probabilities. PyTorch's own float32 and float64 results differ by up to
     * ~3e-6 on these models.
     */
    record Tolerance(ToDoubleFunction<String> vsReference, ToDoubleFunction<String> vsPyTorch, double logits,
            double probs) {
    }

    /** The reference engine against PyTorch: a small multiple of PyTorch's float32-float64 gap. */
    static double referenceVsPyTorch(String key) {
        return key.contains("_attn") ? 2e-6 : 1e-5;
    }

    /** The tornado backend (float32 on the device, the device's own exp and sqrt): logits 1e-4, attention 1e-5. */
    static double tornado(String key) {
        return key.startsWith("logits") ? 1e-4 : key.contains("_attn") ? 1e-5 : 1e-4;
    }

    /** A backend without an entry fails the contract until its tolerances are stated here. */
    static final Map<String, Tolerance> TOLERANCES = Map.of(
            "reference", new Tolerance(key -> 0, BackendContractTest::referenceVsPyTorch, 1e-5, 1e-5),
            // float32 accumulation against the reference's double: 1e-5 on every key
            "cpu", new Tolerance(key -> 1e-5, key -> referenceVsPyTorch(key) + 1e-5, 1e-5, 1e-5),
            // golden logits within 1e-5 of PyTorch's (issue 17), traced or not; classify probabilities: 1e-5 of the
            // cpu engine's, which is within 1e-5 of PyTorch's
            "tornado", new Tolerance(BackendContractTest::tornado, BackendContractTest::tornado, 1e-5, 2e-5));

    static Tolerance tolerance(EngineProvider backend) {
        Tolerance t = TOLERANCES.get(backend.name());
        assertThat(t).as("tolerances of backend '%s' (add them to BackendContractTest.TOLERANCES)", backend.name())
                .isNotNull();
        return t;
    }

    static Stream<EngineProvider> backends() {
        return Backends.all().stream().filter(p -> p.unavailableReason().isEmpty());
    }

    /** Backends other than the reference, which is the oracle of the comparisons they run. */
    static Stream<EngineProvider> testedBackends() {
        return backends().filter(p -> !p.name().equals("reference"));
    }

    static InferenceEngine open(EngineProvider backend, ViTModel model) {
        return backend.create(model, EngineOptions.defaults().withThreads(2));
    }

    // ---- the golden cases ----

    static Stream<Arguments> backendsAndGoldenCases() {
        return backends().flatMap(b -> Golden.casesAndBatches().map(a -> Arguments.of(b, a.get()[0], a.get()[1])));
    }

    @ParameterizedTest(name = "{0} {1}{2}")
    @MethodSource("backendsAndGoldenCases")
    void matchesPyTorchAndTheReferenceOnTheGoldenCases(EngineProvider backend, String name, String suffix) {
        Tolerance tol = tolerance(backend);
        LoadedModel loaded = Golden.load(name);
        Tensor pixels = Golden.read(Golden.dir(name).resolve("input.safetensors")).get("pixel_values" + suffix);
        Map<String, Tensor> expected = Golden.expected(name, suffix);
        assertThat(expected).containsKeys("embed", "block0_attn", "block0_out", "tokens_normed", "pre_logits",
                "logits");
        InferenceEngine.Result result;
        InferenceEngine.Result untraced;
        try (InferenceEngine engine = open(backend, loaded.model())) {
            result = engine.forward(pixels, true);
            untraced = engine.forward(pixels, false); // the path classify takes (another tornado plan and kernels)
        }
        String what = backend.name() + " " + name + suffix;
        double worst = Golden.assertMatchesPyTorch(result.trace(), expected, tol.vsPyTorch(), what);
        double logits = Golden.maxAbsDiff(result.logits(), expected.get("logits"));
        assertThat(logits).as("logits, %s", what).isLessThanOrEqualTo(tol.logits());
        double untracedLogits = Golden.maxAbsDiff(untraced.logits(), expected.get("logits"));
        assertThat(untracedLogits).as("untraced logits, %s", what).isLessThanOrEqualTo(tol.logits());
        // the margins, for the record (docs/performance.md quotes them per device)
        System.out.printf("%s: max |java - pytorch| %.2e over the trace, %.2e on the logits, %.2e untraced%n", what,
                worst, logits, untracedLogits);
        if (!backend.name().equals("reference")) {
            InferenceEngine.Result reference = new ReferenceEngine(loaded.model()).forward(pixels, true);
            Golden.assertTraceClose(result.trace(), reference.trace(), tol.vsReference(), what + " vs reference");
        }
    }

    // ---- random configurations ----

    /** A random model: its architecture, the input it runs on, and which final norms it has. */
    record Case(String name, ViTConfig config, int batch, int height, int width, boolean norm, boolean fcNorm) {

        ViTModel model() {
            return new ViTModel(config, RandomWeights.create(config, name.hashCode(), norm, fcNorm));
        }

        Tensor pixels(long salt) {
            return RandomWeights.pixels(name.hashCode() + salt, batch, config.inChans(), height, width);
        }

        @Override
        public String toString() {
            return name;
        }
    }

    private static Case trained(String name, int imgH, int imgW, int patch, int chans, int dim, int depth, int heads,
            int hidden, boolean qkvBias, double eps, boolean cls, GlobalPool pool, int classes, int batch) {
        return resized(name, imgH, imgW, patch, chans, dim, depth, heads, hidden, qkvBias, eps, cls, pool, classes,
                batch, imgH, imgW);
    }

    /** timm's layout: a final norm, or for average pooling with a class token, an fc_norm instead. */
    private static Case resized(String name, int imgH, int imgW, int patch, int chans, int dim, int depth, int heads,
            int hidden, boolean qkvBias, double eps, boolean cls, GlobalPool pool, int classes, int batch, int inH,
            int inW) {
        ViTConfig c = new ViTConfig(imgH, imgW, patch, chans, classes, dim, depth, heads, hidden, qkvBias, eps, cls,
                pool);
        boolean fcNorm = pool == GlobalPool.AVG;
        return new Case(name, c, batch, inH, inW, !fcNorm, fcNorm);
    }

    static Stream<Case> randomCases() {
        return Stream.of(
                // head_dim 16, 17 tokens, batch 1
                trained("tiny-b1", 32, 32, 8, 3, 64, 2, 4, 256, true, 1e-6, true, GlobalPool.TOKEN, 10, 1),
                // head_dim 10 (not a multiple of the vector length), width 40 (partial panel), MLP 100, batch 3
                trained("hd10-b3", 24, 24, 4, 3, 40, 2, 4, 100, true, 1e-6, true, GlobalPool.TOKEN, 7, 3),
                // head_dim 24, 65 tokens (> 4 vectors of keys), 3 panels of width, batch 2
                trained("hd24-t65", 64, 64, 8, 3, 144, 2, 6, 576, true, 1e-6, true, GlobalPool.TOKEN, 130, 2),
                // non-square input, odd token count, grayscale, no qkv bias, batch 5
                trained("nonsquare-b5", 40, 24, 8, 1, 48, 3, 2, 96, false, 1e-6, true, GlobalPool.TOKEN, 5, 5),
                // trained 32x32, run at 48x40: resampled position embedding; head_dim 12, batch 2
                resized("resized", 32, 32, 8, 3, 36, 2, 3, 144, true, 1e-6, true, GlobalPool.TOKEN, 4, 2, 48, 40),
                // average pooling with fc_norm and a class token, head_dim 20, batch 9 (more than one tile of rows)
                trained("avg-fcnorm-b9", 32, 32, 8, 3, 80, 2, 4, 320, true, 1e-6, true, GlobalPool.AVG, 12, 9),
                // no class token (average pooling), head_dim 33, 99 tokens (wider than 4 key vectors + tail)
                trained("nocls-hd33", 72, 88, 8, 3, 66, 1, 2, 130, true, 1e-6, false, GlobalPool.AVG, 3, 1),
                // one head of 64, batch 7, 50 tokens, 1000 classes
                trained("hd64-b7", 56, 56, 8, 3, 64, 2, 1, 128, true, 1e-6, true, GlobalPool.TOKEN, 1000, 7),
                // one block, 16-pixel image of 4-pixel patches, batch 1
                trained("d1-w32-h2-b1", 16, 16, 4, 3, 32, 1, 2, 64, true, 1e-6, true, GlobalPool.TOKEN, 5, 1),
                // non-square 5-pixel patches, head dim 16, hidden 100, batch 3
                trained("d2-w48-h3-nonsquare-b3", 20, 15, 5, 3, 48, 2, 3, 100, true, 1e-6, true, GlobalPool.TOKEN,
                        7, 3),
                // no class token, average pooling with fc_norm and no final norm, no qkv bias, eps 1e-5, and an
                // input grid other than the trained one
                resized("d3-w40-h5-avg-fcnorm-resized-b2", 16, 16, 4, 3, 40, 3, 5, 72, false, 1e-5, false,
                        GlobalPool.AVG, 6, 2, 12, 20),
                // grayscale, class token with average pooling after the final norm (no fc_norm), one head of 24
                new Case("d1-w24-h1-gray-avg-b2", new ViTConfig(24, 24, 8, 1, 3, 24, 1, 1, 96, true, 1e-6, true,
                        GlobalPool.AVG), 2, 24, 40, true, false),
                // 16-pixel patches, 8 heads, eps 1e-12 (Hugging Face's), 1000 classes
                trained("d2-w64-h8-p16-1000cls-b1", 32, 48, 16, 3, 64, 2, 8, 256, true, 1e-12, true,
                        GlobalPool.TOKEN, 1000, 1));
    }

    static Stream<Arguments> backendsAndRandomCases() {
        return testedBackends().flatMap(b -> randomCases().map(k -> Arguments.of(b, k)));
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("backendsAndRandomCases")
    void matchesTheReferenceOnRandomModels(EngineProvider backend, Case k) {
        Tolerance tol = tolerance(backend);
        ViTModel model = k.model();
        Tensor pixels = k.pixels(1);
        ReferenceEngine reference = new ReferenceEngine(model);
        InferenceEngine.Result expected = reference.forward(pixels, true);
        try (InferenceEngine engine = open(backend, model)) {
            InferenceEngine.Result traced = engine.forward(pixels, true);
            String what = backend.name() + " " + k.name();
            Golden.assertTraceClose(traced.trace(), expected.trace(), tol.vsReference(), what);
            assertThat(traced.logits().shape()).isEqualTo(new int[] {k.batch(), k.config().numClasses()});
            assertThat(Golden.maxAbsDiff(traced.logits(), expected.logits())).as("logits, %s", what)
                    .isLessThanOrEqualTo(tol.vsReference().applyAsDouble(Trace.LOGITS));
            assertThat(Golden.maxAbsDiff(traced.preLogits(), expected.preLogits())).as("pre_logits, %s", what)
                    .isLessThanOrEqualTo(tol.vsReference().applyAsDouble(Trace.PRE_LOGITS));
            // the untraced path (the cpu engine's class-token-only last block, another tornado plan), on other pixels
            Tensor other = k.pixels(2);
            InferenceEngine.Result plain = engine.forward(other, false);
            assertThat(plain.trace()).isEmpty();
            assertThat(Golden.maxAbsDiff(plain.logits(), reference.forward(other, false).logits()))
                    .as("untraced logits, %s", what).isLessThanOrEqualTo(tol.vsReference().applyAsDouble("logits"));
        }
    }

    // ---- trace requests ----

    /** A trace request for some keys gives exactly those keys, with the values of the full trace. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void recordsExactlyTheRequestedKeys(EngineProvider backend) {
        // trained at 24x24, run at 32x24: a resampled position embedding
        ViTConfig c = new ViTConfig(24, 24, 8, 3, 5, 32, 3, 2, 64, true, 1e-6, true, GlobalPool.TOKEN);
        ViTModel model = new ViTModel(c, RandomWeights.create(c, 3));
        Tensor pixels = RandomWeights.pixels(4, 2, 3, 32, 24);
        List<String> wanted = List.of(Trace.POS_EMBED_RESIZED, Trace.blockAttn(1), Trace.blockOut(2),
                Trace.LOGITS);
        try (InferenceEngine engine = open(backend, model)) {
            InferenceEngine.Result all = engine.forward(pixels, TraceRequest.ALL);
            InferenceEngine.Result some = engine.forward(pixels, TraceRequest.keys(wanted));
            InferenceEngine.Result none = engine.forward(pixels, TraceRequest.NONE);
            assertThat(all.trace()).containsKeys(Trace.EMBED, Trace.blockAttn(0), Trace.TOKENS_NORMED,
                    Trace.PRE_LOGITS);
            assertThat(some.trace().keySet()).containsExactlyElementsOf(wanted);
            for (String key : wanted) {
                assertThat(some.trace().get(key).shape()).isEqualTo(all.trace().get(key).shape());
                assertThat(some.trace().get(key).toArray()).as(key).isEqualTo(all.trace().get(key).toArray());
            }
            assertThat(none.trace()).isEmpty();
            assertThat(some.logits().toArray()).isEqualTo(all.logits().toArray());
        }
    }

    // ---- bad inputs ----

    @ParameterizedTest(name = "{0}")
    @MethodSource("testedBackends")
    void rejectsBadInputsWithTheReferencesMessage(EngineProvider backend) {
        ViTConfig c = new ViTConfig(32, 32, 8, 3, 3, 32, 1, 2, 64, true, 1e-6, true, GlobalPool.TOKEN);
        ViTModel model = new ViTModel(c, RandomWeights.create(c, 1));
        try (InferenceEngine engine = open(backend, model)) {
            for (Tensor bad : new Tensor[] {
                Tensor.of(new float[3 * 32 * 32], 3, 32, 32),
                Tensor.of(new float[32 * 32], 1, 1, 32, 32),
                Tensor.of(new float[3 * 30 * 32], 1, 3, 30, 32)}) {
                String expected = catchMessage(() -> new ReferenceEngine(model).forward(bad, false));
                assertThatThrownBy(() -> engine.forward(bad, false)).isInstanceOf(VitException.class)
                        .hasMessage(expected);
            }
        }
    }

    private static String catchMessage(Runnable r) {
        try {
            r.run();
        } catch (VitException e) {
            return e.getMessage();
        }
        throw new AssertionError("expected a VitException");
    }

    // ---- the CLI ----

    /** {@code vit classify --backend NAME} on the shipped samples gives PyTorch's top 3 (samples.json). */
    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void classifiesTheSamplesLikePyTorch(EngineProvider backend) throws IOException {
        Cli r = Cli.run("classify", "--top-k", "3", "--format", "json", "--batch", "30", "--backend",
                backend.name(), ClassifyTest.SAMPLES.toString());
        assertThat(r.exitCode()).as(r.err()).isZero();
        JsonNode ref = ClassifyTest.reference();
        ObjectMapper json = new ObjectMapper();
        List<String> lines = r.out().lines().toList();
        assertThat(lines).hasSize(30);
        for (String line : lines) {
            JsonNode got = json.readTree(line);
            String file = Path.of(got.get("file").asText()).getFileName().toString();
            JsonNode expected = ref.get(file).get("top3");
            for (int k = 0; k < 3; k++) {
                JsonNode g = got.get("top").get(k);
                assertThat(g.get("index").asInt()).as("%s rank %d", file, k)
                        .isEqualTo(expected.get(k).get("index").asInt());
                assertThat(g.get("label").asText()).isEqualTo(expected.get(k).get("label").asText());
                assertThat(g.get("prob").asDouble()).as("%s prob %d (%s)", file, k, backend.name())
                        .isCloseTo(expected.get(k).get("prob").asDouble(), within(tolerance(backend).probs()));
            }
        }
    }
}
