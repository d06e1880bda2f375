package dev.vitjava.tests;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vitjava.checkpoint.LoadedModel;
import dev.vitjava.engine.EngineOptions;
import dev.vitjava.engine.InferenceEngine;
import dev.vitjava.engine.ReferenceEngine;
import dev.vitjava.engine.Trace;
import dev.vitjava.tornado.TornadoEngine;
import dev.vitjava.model.Tensor;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The tornado backend on every PyTorch golden case (timm, Hugging Face, torchvision, and timm at a resized
 * input) and both of its inputs: each traced intermediate against PyTorch's float32 output
 * (logits within 1e-4, attention probabilities within 1e-5) and against the reference engine.
 */
class TornadoGoldenParityTest {

    /**
     * Both inputs of a case through one engine and one compiled plan: the batch-2 input as it is, and the batch-1
     * input duplicated into a batch of 2, whose first image is compared with the batch-1 outputs (batch-1 plans
     * are covered by the random-model tests; compiling a second plan per case would double this test's time).
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void matchesPyTorchAndTheReference(String name) {
        LoadedModel loaded = Golden.load(name);
        Map<String, Tensor> inputs = Golden.read(Golden.dir(name).resolve("input.safetensors"));
        ReferenceEngine reference = new ReferenceEngine(loaded.model());
        try (InferenceEngine engine = TornadoEngine.create(loaded.model(), EngineOptions.defaults())) {
            check(name, "", engine, reference, inputs.get("pixel_values"), Golden.expected(name, ""));
            Tensor single = inputs.get("pixel_values_b1");
            check(name, "_b1", engine, reference, repeat(single, 2), Golden.expected(name, "_b1"));

            // the inference plan (flash attention, no probabilities): the batch-2 input, then the batch-1 input
            // run padded on that plan
            double b2 = TornadoParity.maxAbsDiff(engine.forward(inputs.get("pixel_values"), false).logits(),
                    Golden.expected(name, "").get("logits"));
            double b1 = TornadoParity.maxAbsDiff(engine.forward(single, false).logits(),
                    Golden.expected(name, "_b1").get("logits"));
            System.out.printf("%s untraced logits vs pytorch: batch 2 %.2e, batch 1 padded to 2 %.2e%n", name, b2,
                    b1);
            assertThat(b2).as("%s: untraced logits", name).isLessThanOrEqualTo(TornadoParity.LOGITS);
            assertThat(b1).as("%s: untraced batch-1 logits, padded", name).isLessThanOrEqualTo(TornadoParity.LOGITS);
        }
    }

    static Stream<String> cases() {
        return Golden.CASES.stream();
    }

    private static void check(String name, String suffix, InferenceEngine engine, ReferenceEngine reference,
            Tensor pixels, Map<String, Tensor> golden) {
        InferenceEngine.Result actual = engine.forward(pixels, true);
        Map<String, Double> vsReference = TornadoParity.assertTraceMatches(actual.trace(),
                reference.forward(pixels, true).trace(), name + suffix + " vs reference");

        Map<String, Double> vsPyTorch = new LinkedHashMap<>();
        golden.forEach((key, want) -> {
            Tensor t = actual.trace().get(key);
            assertThat(t).as("%s%s: trace key %s", name, suffix, key).isNotNull();
            if (suffix.equals("_b1") && !key.equals(Trace.POS_EMBED_RESIZED)) {
                t = first(t);
            }
            double diff = TornadoParity.maxAbsDiff(t, want);
            vsPyTorch.put(key, diff);
            assertThat(diff).as("%s%s: max |tornado - pytorch| of %s", name, suffix, key)
                    .isLessThanOrEqualTo(TornadoParity.tolerance(key));
        });
        assertThat(vsPyTorch).containsKeys("embed", "block0_attn", "block0_out", "tokens_normed", "pre_logits",
                "logits");
        System.out.printf("%s%s vs pytorch %s%n%s%s vs reference %s%n", name, suffix, vsPyTorch, name, suffix,
                vsReference);
    }

    /** (1, …) to (n, …), the image repeated. */
    static Tensor repeat(Tensor t, int n) {
        float[] one = t.toArray();
        float[] out = new float[one.length * n];
        for (int i = 0; i < n; i++) {
            System.arraycopy(one, 0, out, i * one.length, one.length);
        }
        int[] shape = t.shape();
        shape[0] = n;
        return Tensor.of(out, shape);
    }

    /** The first image of a batch-leading tensor, as a batch of 1. */
    static Tensor first(Tensor t) {
        int[] shape = t.shape();
        int per = t.size() / shape[0];
        float[] out = new float[per];
        System.arraycopy(t.toArray(), 0, out, 0, per);
        shape[0] = 1;
        return Tensor.of(out, shape);
    }
}
