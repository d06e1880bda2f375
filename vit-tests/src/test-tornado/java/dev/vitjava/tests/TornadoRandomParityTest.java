package dev.vitjava.tests;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vitjava.engine.EngineOptions;
import dev.vitjava.engine.InferenceEngine;
import dev.vitjava.engine.ReferenceEngine;
import dev.vitjava.model.RandomWeights;
import dev.vitjava.model.Tensor;
import dev.vitjava.model.ViTConfig;
import dev.vitjava.model.ViTConfig.GlobalPool;
import dev.vitjava.model.ViTModel;
import dev.vitjava.tornado.TornadoEngine;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The whole model on the device against {@link ReferenceEngine} on random configurations: every traced
 * intermediate, logits within 1e-4 and attention probabilities within 1e-5.
 */
class TornadoRandomParityTest {

    /** A random case: the architecture, the input it runs on, and which final norms the model has. */
    record Case(String name, ViTConfig config, int batch, int height, int width, boolean norm, boolean fcNorm) {
        @Override
        public String toString() {
            return name;
        }
    }

    static ViTConfig config(int imgH, int imgW, int patch, int chans, int classes, int dim, int depth, int heads,
            int hidden, boolean qkvBias, double eps, boolean cls, GlobalPool pool) {
        return new ViTConfig(imgH, imgW, patch, chans, classes, dim, depth, heads, hidden, qkvBias, eps, cls, pool);
    }

    static Stream<Case> cases() {
        return Stream.of(
                // one block, square, batch 1
                new Case("d1-w32-h2-b1", config(16, 16, 4, 3, 5, 32, 1, 2, 64, true, 1e-6, true, GlobalPool.TOKEN),
                        1, 16, 16, true, false),
                // non-square 5-pixel patches, head dim 16, hidden 100, batch 3
                new Case("d2-w48-h3-nonsquare-b3", config(20, 15, 5, 3, 7, 48, 2, 3, 100, true, 1e-6, true,
                        GlobalPool.TOKEN), 3, 20, 15, true, false),
                // no class token, average pooling with fc_norm and no final norm, no qkv bias, and an input grid
                // other than the trained one (resampled position embedding)
                new Case("d3-w40-h5-avg-fcnorm-resized-b2", config(16, 16, 4, 3, 6, 40, 3, 5, 72, false, 1e-5, false,
                        GlobalPool.AVG), 2, 12, 20, false, true),
                // grayscale, class token with average pooling after the final norm, one head of 24
                new Case("d1-w24-h1-gray-avg-b2", config(24, 24, 8, 1, 3, 24, 1, 1, 96, true, 1e-6, true,
                        GlobalPool.AVG), 2, 24, 40, true, false),
                // 16-pixel patches, 8 heads, eps 1e-12, 1000 classes
                new Case("d2-w64-h8-p16-1000cls-b1", config(32, 48, 16, 3, 1000, 64, 2, 8, 256, true, 1e-12, true,
                        GlobalPool.TOKEN), 1, 32, 48, true, false));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void matchesTheReferenceEngine(Case k) {
        ViTModel model = new ViTModel(k.config(),
                RandomWeights.create(k.config(), k.name().hashCode(), k.norm(), k.fcNorm()));
        Tensor pixels = RandomWeights.pixels(k.name().hashCode() + 1L, k.batch(), k.config().inChans(), k.height(),
                k.width());
        InferenceEngine.Result expected = new ReferenceEngine(model).forward(pixels, true);
        try (InferenceEngine engine = TornadoEngine.create(model, EngineOptions.defaults())) {
            InferenceEngine.Result actual = engine.forward(pixels, true);
            Map<String, Double> errors = TornadoParity.assertTraceMatches(actual.trace(), expected.trace(), k.name());
            System.out.printf("%s: %s%n", k.name(), errors);
            assertThat(TornadoParity.maxAbsDiff(actual.logits(), expected.logits())).isLessThanOrEqualTo(TornadoParity.LOGITS);
            assertThat(TornadoParity.maxAbsDiff(actual.preLogits(), expected.preLogits()))
                    .isLessThanOrEqualTo(TornadoParity.ACTIVATIONS);

            // the untraced plan (flash attention instead of the probabilities-writing kernel) computes the same
            // function, and reusing it with new pixels stays right
            InferenceEngine.Result plain = engine.forward(pixels, false);
            assertThat(plain.trace()).isEmpty();
            assertThat(TornadoParity.maxAbsDiff(plain.logits(), expected.logits())).isLessThanOrEqualTo(
                    TornadoParity.LOGITS);
            Tensor other = RandomWeights.pixels(k.name().hashCode() + 2L, k.batch(), k.config().inChans(), k.height(),
                    k.width());
            assertThat(TornadoParity.maxAbsDiff(engine.forward(other, false).logits(),
                    new ReferenceEngine(model).forward(other, false).logits())).isLessThanOrEqualTo(TornadoParity.LOGITS);
        }
    }

    @Test
    void plansForSeveralShapesCoexistAndAreEvicted() {
        ViTConfig c = config(16, 16, 4, 3, 4, 32, 1, 4, 64, true, 1e-6, true, GlobalPool.TOKEN);
        ViTModel model = new ViTModel(c, RandomWeights.create(c, 7, true, false));
        ReferenceEngine reference = new ReferenceEngine(model);
        try (InferenceEngine engine = TornadoEngine.create(model, EngineOptions.defaults())) {
            // four shapes, more than the engine keeps, then the first again (rebuilt after its eviction), then a
            // plan that survived two evictions
            int[][] shapes = {{1, 16, 16}, {2, 16, 16}, {1, 8, 24}, {3, 12, 12}, {1, 16, 16}, {3, 12, 12}};
            long seed = 100;
            for (int[] s : shapes) {
                Tensor pixels = RandomWeights.pixels(seed++, s[0], 3, s[1], s[2]);
                assertThat(TornadoParity.maxAbsDiff(engine.forward(pixels, false).logits(),
                        reference.forward(pixels, false).logits())).as("shape %d×%d×%d", s[0], s[1], s[2])
                        .isLessThanOrEqualTo(TornadoParity.LOGITS);
            }
        }
    }
}
