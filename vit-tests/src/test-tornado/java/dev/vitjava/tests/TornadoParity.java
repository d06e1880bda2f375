package dev.vitjava.tests;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vitjava.model.Tensor;
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

    /** Asserts every key of {@code expected} is in {@code actual} within its tolerance; returns the worst errors. */
    static Map<String, Double> assertTraceMatches(Map<String, Tensor> actual, Map<String, Tensor> expected,
            String what) {
        Map<String, Double> errors = new java.util.LinkedHashMap<>();
        assertThat(actual.keySet()).as("%s: trace keys", what).containsExactlyElementsOf(expected.keySet());
        for (Map.Entry<String, Tensor> e : expected.entrySet()) {
            Tensor a = actual.get(e.getKey());
            assertThat(a.shape()).as("%s: shape of %s", what, e.getKey()).isEqualTo(e.getValue().shape());
            double diff = maxAbsDiff(a, e.getValue());
            errors.put(e.getKey(), diff);
            assertThat(diff).as("%s: max |tornado - reference| of %s", what, e.getKey())
                    .isLessThanOrEqualTo(tolerance(e.getKey()));
        }
        return errors;
    }
}
