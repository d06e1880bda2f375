package dev.vitjava.spark;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vitjava.VitException;
import dev.vitjava.engine.InferenceEngine;
import dev.vitjava.engine.TraceRequest;
import dev.vitjava.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

class ExecutorModelTest {

    /**
     * Every batch runs on the engine's one thread, whichever task hands it over, and comes back to that task; what
     * the engine throws reaches the task as it was thrown (a bad batch is reported per image from there).
     */
    @Test
    void tasksHandTheirBatchesToTheEnginesOneThread() throws Exception {
        Set<String> callers = ConcurrentHashMap.newKeySet();
        VitException bad = new VitException("a bad batch");
        InferenceEngine fake = new InferenceEngine() {
            @Override
            public String name() {
                return "fake";
            }

            @Override
            public Result forward(Tensor pixels, TraceRequest trace) {
                callers.add(Thread.currentThread().getName());
                if (pixels.get(0) < 0) {
                    throw bad;
                }
                return new Result(pixels, pixels, Map.of());
            }
        };
        InferenceEngine engine = new ExecutorModel.EngineThread(fake);
        ExecutorService tasks = Executors.newFixedThreadPool(4);
        try {
            List<Future<Float>> results = new ArrayList<>();
            for (int i = 0; i < 32; i++) {
                float value = i;
                results.add(tasks.submit(() -> engine.forward(Tensor.of(new float[] {value}, 1), TraceRequest.NONE)
                        .logits().get(0)));
            }
            for (int i = 0; i < results.size(); i++) {
                assertThat(results.get(i).get()).isEqualTo(i);
            }
            assertThatThrownBy(() -> engine.forward(Tensor.of(new float[] {-1}, 1), TraceRequest.NONE)).isSameAs(bad);
            assertThat(callers).containsExactly("vit-engine");
        } finally {
            tasks.shutdownNow();
        }
    }
}
