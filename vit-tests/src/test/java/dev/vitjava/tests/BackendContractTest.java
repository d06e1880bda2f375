package dev.vitjava.tests;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vitjava.engine.Backends;
import dev.vitjava.engine.EngineOptions;
import dev.vitjava.engine.EngineProvider;
import dev.vitjava.engine.InferenceEngine;
import dev.vitjava.engine.Trace;
import dev.vitjava.engine.TraceRequest;
import dev.vitjava.model.RandomWeights;
import dev.vitjava.model.Tensor;
import dev.vitjava.model.ViTConfig;
import dev.vitjava.model.ViTConfig.GlobalPool;
import dev.vitjava.model.ViTModel;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * What every backend found by {@link Backends#all()} must do, whatever it is: the tests run once per backend that
 * can run here (reference, cpu, and tornado where an SDK is present).
 */
class BackendContractTest {

    static Stream<EngineProvider> backends() {
        return Backends.all().stream().filter(p -> p.unavailableReason().isEmpty());
    }

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
        try (InferenceEngine engine = backend.create(model, EngineOptions.defaults().withThreads(2))) {
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
}
