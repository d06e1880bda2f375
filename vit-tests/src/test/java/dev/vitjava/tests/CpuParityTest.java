package dev.vitjava.tests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vitjava.VitException;
import dev.vitjava.checkpoint.LoadedModel;
import dev.vitjava.engine.Backends;
import dev.vitjava.engine.EngineOptions;
import dev.vitjava.engine.InferenceEngine;
import dev.vitjava.engine.ReferenceEngine;
import dev.vitjava.engine.cpu.CpuEngine;
import dev.vitjava.model.RandomWeights;
import dev.vitjava.model.Tensor;
import dev.vitjava.model.ViTConfig;
import dev.vitjava.model.ViTConfig.GlobalPool;
import dev.vitjava.model.ViTModel;
import java.util.Arrays;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The {@code cpu} backend against the scalar reference (double accumulation) on random models that exercise
 * every shape edge (head dims not a multiple of the vector length, odd token counts, partial weight panels,
 * batches 1-9, non-square and resized inputs, average pooling with fc_norm, no class token, no qkv bias), and
 * against PyTorch on the golden cases. Every traced tensor is compared, not only the logits. The cpu engine's
 * results are bit-identical across runs, thread counts and batch composition (each output element has one
 * code path with a fixed summation order), and the tests check exactly that.
 */
class CpuParityTest {

    /** Max |cpu - reference| for logits, tokens and attention probabilities (float32 vs double accumulation). */
    static final double TOLERANCE = 1e-5;

    /**
     * A random case: image size, patch, width, depth, heads, MLP width, qkv bias, class token, pooling,
     * classes, the input size (which may differ from the trained one: resampled position embedding) and the batch.
     */
    record Case(String name, int imgH, int imgW, int patch, int chans, int dim, int depth, int heads, int hidden,
            boolean qkvBias, boolean classToken, GlobalPool pool, int classes, int inH, int inW, int batch) {

        ViTConfig config() {
            return new ViTConfig(imgH, imgW, patch, chans, classes, dim, depth, heads, hidden, qkvBias, 1e-6,
                    classToken, pool);
        }

        @Override
        public String toString() {
            return name;
        }
    }

    static Stream<Case> randomCases() {
        return Stream.of(
                // head_dim 16, 17 tokens, batch 1
                new Case("tiny-b1", 32, 32, 8, 3, 64, 2, 4, 256, true, true, GlobalPool.TOKEN, 10, 32, 32, 1),
                // head_dim 10 (not a multiple of the vector length), width 40 (partial panel), MLP 100, batch 3
                new Case("hd10-b3", 24, 24, 4, 3, 40, 2, 4, 100, true, true, GlobalPool.TOKEN, 7, 24, 24, 3),
                // head_dim 24, 65 tokens (> 4 vectors of keys), 3 panels of width, batch 2
                new Case("hd24-t65", 64, 64, 8, 3, 144, 2, 6, 576, true, true, GlobalPool.TOKEN, 130, 64, 64, 2),
                // non-square input, odd token count, grayscale, no qkv bias, batch 5
                new Case("nonsquare-b5", 40, 24, 8, 1, 48, 3, 2, 96, false, true, GlobalPool.TOKEN, 5, 40, 24, 5),
                // trained 32x32, run at 48x40: resampled position embedding; head_dim 12, batch 2
                new Case("resized", 32, 32, 8, 3, 36, 2, 3, 144, true, true, GlobalPool.TOKEN, 4, 48, 40, 2),
                // average pooling with fc_norm and a class token, head_dim 20, batch 9 (more than one tile of rows)
                new Case("avg-fcnorm-b9", 32, 32, 8, 3, 80, 2, 4, 320, true, true, GlobalPool.AVG, 12, 32, 32, 9),
                // no class token (average pooling), head_dim 33, 99 tokens (wider tokens than 4 key vectors + tail)
                new Case("nocls-hd33", 72, 88, 8, 3, 66, 1, 2, 130, true, false, GlobalPool.AVG, 3, 72, 88, 1),
                // one head of 64, batch 7, 50 tokens
                new Case("hd64-b7", 56, 56, 8, 3, 64, 2, 1, 128, true, true, GlobalPool.TOKEN, 1000, 56, 56, 7));
    }

    static void assertIdentical(InferenceEngine.Result a, InferenceEngine.Result b, String what) {
        assertThat(a.logits().toArray()).as("logits, %s", what).isEqualTo(b.logits().toArray());
        assertThat(a.preLogits().toArray()).as("pre_logits, %s", what).isEqualTo(b.preLogits().toArray());
        assertThat(a.trace().keySet()).isEqualTo(b.trace().keySet());
        for (String k : a.trace().keySet()) {
            assertThat(a.trace().get(k).toArray()).as("%s, %s", k, what).isEqualTo(b.trace().get(k).toArray());
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("randomCases")
    void matchesReferenceOnRandomModels(Case k) {
        ViTModel model = new ViTModel(k.config(), RandomWeights.create(k.config(), k.name().hashCode()));
        Tensor pixels = RandomWeights.pixels(k.name().hashCode() + 1, k.batch(), k.chans(), k.inH(), k.inW());
        InferenceEngine.Result expected = new ReferenceEngine(model).forward(pixels, true);
        InferenceEngine.Result traced;
        InferenceEngine.Result plain;
        InferenceEngine.Result again;
        InferenceEngine.Result oneThread;
        try (InferenceEngine cpu = new CpuEngine(model, EngineOptions.defaults().withThreads(2))) {
            traced = cpu.forward(pixels, true);
            plain = cpu.forward(pixels, false);
            again = cpu.forward(pixels, true);
        }
        try (InferenceEngine cpu = new CpuEngine(model, EngineOptions.defaults().withThreads(1))) {
            oneThread = cpu.forward(pixels, true);
        }
        Golden.assertTraceClose(traced.trace(), expected.trace(), key -> TOLERANCE, k.name());
        assertThat(Golden.maxAbsDiff(traced.logits(), expected.logits())).isLessThanOrEqualTo(TOLERANCE);
        assertThat(Golden.maxAbsDiff(traced.preLogits(), expected.preLogits())).isLessThanOrEqualTo(TOLERANCE);
        assertThat(traced.logits().shape()).isEqualTo(new int[] {k.batch(), k.classes()});
        // Determinism: the same bits run after run, with or without a trace, with 1 or 2 threads.
        assertIdentical(traced, again, "second run");
        assertIdentical(traced, oneThread, "1 vs 2 threads");
        assertThat(plain.logits().toArray()).as("logits without trace").isEqualTo(traced.logits().toArray());
        assertThat(plain.preLogits().toArray()).isEqualTo(traced.preLogits().toArray());
        assertThat(plain.trace()).isEmpty();
    }

    @Test
    void imageResultDoesNotDependOnItsBatch() {
        Case k = new Case("batch", 32, 32, 8, 3, 48, 2, 3, 96, true, true, GlobalPool.TOKEN, 6, 32, 32, 4);
        ViTModel model = new ViTModel(k.config(), RandomWeights.create(k.config(), 7));
        Tensor batch = RandomWeights.pixels(8, 4, 3, 32, 32);
        int size = 3 * 32 * 32;
        try (InferenceEngine cpu = new CpuEngine(model, EngineOptions.defaults().withThreads(2))) {
            float[] all = cpu.forward(batch, false).logits().toArray().clone();
            for (int n = 0; n < 4; n++) {
                float[] one = Arrays.copyOfRange(batch.toArray(), n * size, (n + 1) * size);
                float[] logits = cpu.forward(Tensor.of(one, 1, 3, 32, 32), false).logits().toArray();
                assertThat(logits).isEqualTo(Arrays.copyOfRange(all, n * 6, (n + 1) * 6));
            }
        }
    }

    @ParameterizedTest(name = "{0}{1}")
    @MethodSource("dev.vitjava.tests.Golden#casesAndBatches")
    void matchesPyTorchAndReferenceOnGoldenCases(String name, String suffix) {
        LoadedModel loaded = Golden.load(name);
        Map<String, Tensor> input = Golden.read(Golden.dir(name).resolve("input.safetensors"));
        Map<String, Tensor> expected = Golden.expected(name, suffix);
        Tensor pixels = input.get("pixel_values" + suffix);
        InferenceEngine.Result reference = new ReferenceEngine(loaded.model()).forward(pixels, true);
        InferenceEngine.Result result;
        try (InferenceEngine cpu = Backends.create("cpu", loaded.model(), EngineOptions.defaults().withThreads(2))) {
            result = cpu.forward(pixels, true);
        }
        Golden.assertTraceClose(result.trace(), reference.trace(), key -> TOLERANCE, name + suffix);
        assertThat(expected).containsKeys("embed", "block0_attn", "tokens_normed", "logits");
        Golden.assertMatchesPyTorch(result.trace(), expected, key -> ReferenceParityTest.tolerance(key) + 1e-5,
                name + suffix);
        assertThat(Golden.maxAbsDiff(result.logits(), expected.get("logits"))).isLessThanOrEqualTo(1e-5);
    }

    @Test
    void rejectsBadInputsLikeTheReference() {
        Case k = new Case("bad", 32, 32, 8, 3, 32, 1, 2, 64, true, true, GlobalPool.TOKEN, 3, 32, 32, 1);
        ViTModel model = new ViTModel(k.config(), RandomWeights.create(k.config(), 1));
        try (InferenceEngine cpu = new CpuEngine(model, EngineOptions.defaults())) {
            for (Tensor bad : new Tensor[] {
                Tensor.of(new float[3 * 32 * 32], 3, 32, 32),
                Tensor.of(new float[32 * 32], 1, 1, 32, 32),
                Tensor.of(new float[3 * 30 * 32], 1, 3, 30, 32)}) {
                String expected = catchMessage(() -> new ReferenceEngine(model).forward(bad, false));
                assertThatThrownBy(() -> cpu.forward(bad, false)).isInstanceOf(VitException.class)
                        .hasMessage(expected);
            }
        }
    }

    @Test
    void isRegisteredAsCpuBackend() {
        assertThat(Backends.all()).anyMatch(p -> p.name().equals("cpu"));
    }

    private static String catchMessage(Runnable r) {
        try {
            r.run();
        } catch (VitException e) {
            return e.getMessage();
        }
        throw new AssertionError("expected a VitException");
    }
}
