package dev.vitjava.tests;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vitjava.engine.EngineOptions;
import dev.vitjava.engine.InferenceEngine;
import dev.vitjava.engine.ReferenceEngine;
import dev.vitjava.engine.TraceRequest;
import dev.vitjava.model.RandomWeights;
import dev.vitjava.model.ViTConfig;
import dev.vitjava.model.ViTConfig.GlobalPool;
import dev.vitjava.model.ViTModel;
import dev.vitjava.tensor.Tensor;
import dev.vitjava.tornado.TornadoEngine;
import dev.vitjava.tornado.TornadoEngineProvider;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * What only the tornado backend has, beyond the contract every backend meets ({@link BackendContractTest}): one
 * compiled plan for untraced calls and one for traced ones, each running every shape its buffers hold and grown for
 * one they do not; tile sizes from the command line; CUDA graphs on PTX.
 */
class TornadoPlanTest {

    /**
     * Batches and image sizes in any order, each untraced and then traced: a call that fits runs at its own size on
     * the compiled plan, one that does not grows it; every output is the reference's, the traces key by key.
     */
    @Test
    void everyShapeRunsOnAPlanThatHoldsItTracedOrNot() {
        ViTConfig c = new ViTConfig(16, 16, 4, 3, 4, 32, 1, 4, 64, true, 1e-6, true, GlobalPool.TOKEN);
        ViTModel model = new ViTModel(c, RandomWeights.create(c, 7, true, false));
        ReferenceEngine reference = new ReferenceEngine(model);
        try (InferenceEngine engine = TornadoEngine.create(model, EngineOptions.defaults())) {
            // grows for a batch of 2, fits 2x6 patches, grows for 3 images, fits the first shape again
            int[][] shapes = {{1, 16, 16}, {2, 16, 16}, {1, 8, 24}, {3, 12, 12}, {1, 16, 16}, {3, 12, 12}};
            long seed = 100;
            for (int[] s : shapes) {
                Tensor pixels = RandomWeights.pixels(seed++, s[0], 3, s[1], s[2]);
                String shape = s[0] + "x" + s[1] + "x" + s[2];
                assertThat(Golden.maxAbsDiff(engine.forward(pixels, false).logits(),
                        reference.forward(pixels, false).logits())).as("shape %s", shape)
                        .isLessThanOrEqualTo(BackendContractTest.tornado("logits"));
                Map<String, Tensor> traced = engine.forward(pixels, TraceRequest.ALL).trace();
                Map<String, Tensor> expected = reference.forward(pixels, TraceRequest.ALL).trace();
                assertThat(traced.keySet()).as("shape %s", shape).isEqualTo(expected.keySet());
                for (String key : expected.keySet()) {
                    assertThat(traced.get(key).shape()).as("%s %s", shape, key).isEqualTo(expected.get(key).shape());
                    assertThat(Golden.maxAbsDiff(traced.get(key), expected.get(key))).as("%s %s", shape, key)
                            .isLessThanOrEqualTo(BackendContractTest.tornado(key));
                }
            }
        }
    }

    /**
     * {@code --tiles} reaches the kernels from the command line: the gpu forms with small, non-square tiles give the
     * shipped samples PyTorch's top-1 class; a malformed value is a one-line error.
     */
    @Test
    void theCommandLineTakesTheTileSizes() throws IOException {
        Cli r = Cli.run("classify", "--top-k", "1", "--format", "json", "--backend", "tornado", "--kernels", "gpu",
                "--tiles", "8x4x8,16x8", ClassifyTest.SAMPLES.toString());
        assertThat(r.exitCode()).as(r.err()).isZero();
        JsonNode ref = ClassifyTest.reference();
        ObjectMapper json = new ObjectMapper();
        List<String> lines = r.out().lines().toList();
        assertThat(lines).isNotEmpty();
        for (String line : lines) {
            JsonNode got = json.readTree(line);
            String file = Path.of(got.get("file").asText()).getFileName().toString();
            assertThat(got.get("top").get(0).get("index").asInt()).as(file)
                    .isEqualTo(ref.get(file).get("top3").get(0).get("index").asInt());
        }
        Cli bad = Cli.run("classify", "--backend", "tornado", "--tiles", "16x16", ClassifyTest.SAMPLES.toString());
        assertThat(bad.exitCode()).isNotZero();
        assertThat(bad.oneLineError()).as(bad.err()).isTrue();
        assertThat(bad.err()).contains("tile sizes '16x16' are not GXxGYxGK,QxKV");
    }

    /**
     * {@code cuda-graph} (PTX only): the plan replayed as CUDA graphs gives the reference's logits call after call, a
     * new input each time (smaller batches and images too) and the block graph replayed once per block with its
     * sizes and layer index copied in. Skipped where
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
            // the graphs keep the grids of their capture: smaller calls run on them, the kernels bounding the work
            int[][] shapes = {{2, 16, 16}, {2, 16, 16}, {1, 16, 16}, {2, 8, 16}, {1, 12, 8}, {2, 16, 16}};
            long seed = 200;
            for (int[] s : shapes) {
                Tensor pixels = RandomWeights.pixels(seed++, s[0], 3, s[1], s[2]);
                assertThat(Golden.maxAbsDiff(engine.forward(pixels, false).logits(),
                        reference.forward(pixels, false).logits())).as("shape %d×%d×%d", s[0], s[1], s[2])
                        .isLessThanOrEqualTo(BackendContractTest.tornado("logits"));
            }
        }
    }
}
