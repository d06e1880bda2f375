package dev.vitjava.explain;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vitjava.VitException;
import dev.vitjava.checkpoint.Safetensors;
import dev.vitjava.tensor.Tensor;
import java.net.URISyntaxException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Rollout against torch in float64 ({@code explain/generate_rollout.py}): random attention of 3 blocks, 2 heads
 * and 7 tokens, every head fusion, with and without discarding.
 */
class RolloutTest {

    private static Path cases() throws URISyntaxException {
        return Path.of(RolloutTest.class.getResource("/explain/rollout_cases.safetensors").toURI());
    }

    @ParameterizedTest(name = "{0}, discard {1}")
    @CsvSource({"mean,0.0", "mean,0.3", "mean,0.9", "max,0.0", "max,0.3", "max,0.9", "min,0.0", "min,0.3",
        "min,0.9"})
    void matchesTorch(String fusion, double discard) throws Exception {
        try (Safetensors st = Safetensors.open(cases())) {
            Tensor attn = st.tensor("attn");
            Tensor want = st.tensor("rollout_" + fusion + "_" + discard);
            int depth = attn.dim(0);
            int heads = attn.dim(1);
            int t = attn.dim(2);
            float[] probs = attn.toArray();
            Rollout r = new Rollout(HeadFusion.parse(fusion), discard, t);
            for (int b = 0; b < depth; b++) {
                r.add(probs, b * heads * t * t, heads);
            }
            float[] mask = r.mask();
            assertThat(mask).hasSize(want.size());
            for (int i = 0; i < mask.length; i++) {
                assertThat((double) mask[i]).as("mask[%d]", i).isCloseTo(want.get(i),
                        org.assertj.core.api.Assertions.within(1e-6));
            }
        }
    }

    @Test
    void identityAttentionGivesAFlatMask() {
        int t = 5;
        float[] eye = new float[t * t];
        for (int i = 0; i < t; i++) {
            eye[i * t + i] = 1;
        }
        Rollout r = new Rollout(HeadFusion.MEAN, 0, t);
        r.add(eye, 0, 1);
        // every patch row is the identity: the class token only ever looks at itself, R[0, 1:] = 0
        assertThat(r.mask()).containsOnly(0f);
    }

    @Test
    void rejectsADiscardRatioOutsideTheUnitInterval() {
        assertThatThrownBy(() -> new Rollout(HeadFusion.MEAN, 1.0, 5)).isInstanceOf(VitException.class)
                .hasMessageContaining("--discard-ratio");
        assertThatThrownBy(() -> new Rollout(HeadFusion.MEAN, Double.NaN, 5)).isInstanceOf(VitException.class);
        assertThatThrownBy(() -> HeadFusion.parse("median")).isInstanceOf(VitException.class)
                .hasMessageContaining("--head-fusion");
    }
}
