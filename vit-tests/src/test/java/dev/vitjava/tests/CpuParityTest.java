package dev.vitjava.tests;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vitjava.engine.EngineOptions;
import dev.vitjava.engine.InferenceEngine;
import dev.vitjava.engine.cpu.CpuEngine;
import dev.vitjava.model.RandomWeights;
import dev.vitjava.model.ViTConfig;
import dev.vitjava.model.ViTConfig.GlobalPool;
import dev.vitjava.model.ViTModel;
import dev.vitjava.tensor.Tensor;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * What only the {@code cpu} backend promises, beyond the contract every backend meets ({@link BackendContractTest}:
 * parity with the reference and PyTorch): its results are bit-identical across runs, thread counts, with or
 * without a trace, and whatever batch an image is in, because each output element has one code path with a fixed
 * summation order.
 */
class CpuParityTest {

    static void assertIdentical(InferenceEngine.Result a, InferenceEngine.Result b, String what) {
        assertThat(a.logits().toArray()).as("logits, %s", what).isEqualTo(b.logits().toArray());
        assertThat(a.preLogits().toArray()).as("pre_logits, %s", what).isEqualTo(b.preLogits().toArray());
        assertThat(a.trace().keySet()).isEqualTo(b.trace().keySet());
        for (String k : a.trace().keySet()) {
            assertThat(a.trace().get(k).toArray()).as("%s, %s", k, what).isEqualTo(b.trace().get(k).toArray());
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.vitjava.tests.BackendContractTest#randomCases")
    void resultsAreBitIdenticalAcrossRunsThreadsAndTracing(BackendContractTest.Case k) {
        ViTModel model = k.model();
        Tensor pixels = k.pixels(1);
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
        assertIdentical(traced, again, "second run");
        assertIdentical(traced, oneThread, "1 vs 2 threads");
        assertThat(plain.logits().toArray()).as("logits without trace").isEqualTo(traced.logits().toArray());
        assertThat(plain.preLogits().toArray()).isEqualTo(traced.preLogits().toArray());
        assertThat(plain.trace()).isEmpty();
    }

    @Test
    void imageResultDoesNotDependOnItsBatch() {
        ViTConfig c = new ViTConfig(32, 32, 8, 3, 6, 48, 2, 3, 96, true, 1e-6, true, GlobalPool.TOKEN);
        ViTModel model = new ViTModel(c, RandomWeights.create(c, 7));
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
}
