package dev.vitjava.tests;

import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * `vit attention --backend tornado` against PyTorch's float64 maps (golden/attention): cls_attn, rollout, q and k
 * within 1e-5 as on the CPU engines; logits within the tornado backend's 1e-4. Also the golden cases.
 */
class TornadoAttentionTest {

    @TempDir
    Path tmp;

    /** The tornado backend's logits tolerance (as in BackendContractTest); the maps are held to 1e-5. */
    private static double tolerance(String key) {
        return key.equals("logits") ? 1e-4 : 1e-5;
    }

    @Test
    void mapsMatchPyTorch() throws IOException {
        AttentionTest.assertMapsMatchPyTorch("tornado", tmp,
                TornadoAttentionTest::tolerance);
    }

    @Test
    void goldenCasesMatchPyTorch() {
        AttentionTest.assertGoldenCasesMatchPyTorch("tornado",
                TornadoAttentionTest::tolerance);
    }
}
