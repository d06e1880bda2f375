package dev.vitjava.tests;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vitjava.tensor.Tensor;
import java.util.Map;

/** Trace comparison with the tornado backend's tolerances: logits 1e-4, attention 1e-5 (issue 5). */
final class TornadoParity {

    static final double LOGITS = 1e-4;
    static final double ATTENTION = 1e-5;
    static final double ACTIVATIONS = 1e-4;

    private TornadoParity() {
    }

    static double tolerance(String key) {
        if (key.startsWith("logits")) {
            return LOGITS;
        }
        if (key.contains("_attn")) {
            return ATTENTION;
        }
        return ACTIVATIONS;
    }

    static double maxAbsDiff(Tensor a, Tensor b) {
        assertThat(a.shape()).isEqualTo(b.shape());
        return Golden.maxAbsDiff(a, b);
    }

    /** {@link Golden#assertTraceClose} with these tolerances. */
    static Map<String, Double> assertTraceMatches(Map<String, Tensor> actual, Map<String, Tensor> expected,
            String what) {
        return Golden.assertTraceClose(actual, expected, TornadoParity::tolerance, what);
    }
}
