package dev.vitjava.tests;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vitjava.engine.EngineOptions;
import dev.vitjava.engine.InferenceEngine;
import dev.vitjava.engine.ReferenceEngine;
import dev.vitjava.model.RandomWeights;
import dev.vitjava.model.ViTConfig;
import dev.vitjava.model.ViTConfig.GlobalPool;
import dev.vitjava.model.ViTModel;
import dev.vitjava.tensor.Tensor;
import dev.vitjava.tornado.TornadoEngine;
import dev.vitjava.tornado.TornadoEngineProvider;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * What only the tornado backend has, beyond the contract every backend meets ({@link BackendContractTest}): one
 * compiled plan per input shape, several kept at once and the least recently used released; CUDA graphs on PTX.
 */
class TornadoPlanTest {

    @Test
    void plansForSeveralShapesCoexistAndAreEvicted() {
        ViTConfig c = new ViTConfig(16, 16, 4, 3, 4, 32, 1, 4, 64, true, 1e-6, true, GlobalPool.TOKEN);
        ViTModel model = new ViTModel(c, RandomWeights.create(c, 7, true, false));
        ReferenceEngine reference = new ReferenceEngine(model);
        try (InferenceEngine engine = TornadoEngine.create(model, EngineOptions.defaults())) {
            // four shapes, more than the engine keeps, then the first again (rebuilt after its eviction), then a
            // plan that survived two evictions
            int[][] shapes = {{1, 16, 16}, {2, 16, 16}, {1, 8, 24}, {3, 12, 12}, {1, 16, 16}, {3, 12, 12}};
            long seed = 100;
            for (int[] s : shapes) {
                Tensor pixels = RandomWeights.pixels(seed++, s[0], 3, s[1], s[2]);
                assertThat(Golden.maxAbsDiff(engine.forward(pixels, false).logits(),
                        reference.forward(pixels, false).logits())).as("shape %d×%d×%d", s[0], s[1], s[2])
                        .isLessThanOrEqualTo(BackendContractTest.tornado("logits"));
            }
        }
    }

    /**
     * {@code cuda-graph} (PTX only): the plan replayed as CUDA graphs gives the reference's logits call after call, a
     * new input each time and the block graph replayed once per block with its layer index copied in. Skipped where
     * the default device is not a PTX one (the setting does nothing there).
     */
    @Test
    void cudaGraphReplaysGiveTheReferencesLogits() {
        Assumptions.assumeTrue(new TornadoEngineProvider().devices().stream()
                .anyMatch(d -> "true".equals(d.get("default")) && "PTX".equals(d.get("backend"))),
                "the default TornadoVM device is not a PTX one");
        ViTConfig c = new ViTConfig(16, 16, 4, 3, 5, 32, 3, 4, 64, true, 1e-6, true, GlobalPool.TOKEN);
        ViTModel model = new ViTModel(c, RandomWeights.create(c, 11, true, false));
        ReferenceEngine reference = new ReferenceEngine(model);
        try (InferenceEngine engine = TornadoEngine.create(model, EngineOptions.defaults().with("cuda-graph", "true"))) {
            for (long seed = 200; seed < 204; seed++) {
                Tensor pixels = RandomWeights.pixels(seed, 2, 3, 16, 16);
                assertThat(Golden.maxAbsDiff(engine.forward(pixels, false).logits(),
                        reference.forward(pixels, false).logits())).as("call with seed %d", seed)
                        .isLessThanOrEqualTo(BackendContractTest.tornado("logits"));
            }
        }
    }
}
