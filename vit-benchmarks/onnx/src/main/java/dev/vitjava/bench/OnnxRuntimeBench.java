package dev.vitjava.bench;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.vitjava.checkpoint.ModelLoader;
import dev.vitjava.engine.EngineOptions;
import dev.vitjava.engine.InferenceEngine;
import dev.vitjava.engine.cpu.CpuEngine;
import dev.vitjava.model.ViTModel;
import dev.vitjava.tensor.Tensor;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Times ONNX Runtime and the cpu engine on the same model in one process, interleaved round by round so both see
 * the same machine load, and checks that they compute the same logits.
 *
 * <pre>
 * java --add-modules jdk.incubator.vector -XX:+UseParallelGC -jar vit-benchmarks/onnx/target/onnx-bench.jar \
 *     MODEL.onnx WEIGHTS.safetensors [threads=2] [batches=1,8] [rounds=5] [iters=4]
 * </pre>
 *
 * MODEL.onnx must be an export of WEIGHTS.safetensors (input pixel_values (N,3,H,W), output logits), e.g. of the
 * random ViT-B/16 that {@code vit bench --arch vit_base_patch16_224 --save-weights FILE} writes.
 */
public final class OnnxRuntimeBench {

    private OnnxRuntimeBench() {
    }

    public static void main(String[] args) throws OrtException {
        if (args.length < 2) {
            System.err.println("usage: OnnxRuntimeBench MODEL.onnx WEIGHTS.safetensors [threads] [batches] [rounds]"
                    + " [iters]");
            System.exit(2);
        }
        Path onnx = Path.of(args[0]);
        Path weights = Path.of(args[1]);
        int threads = args.length > 2 ? Integer.parseInt(args[2]) : 2;
        int[] batches = Arrays.stream((args.length > 3 ? args[3] : "1,8").split(",")).mapToInt(Integer::parseInt)
                .toArray();
        int rounds = args.length > 4 ? Integer.parseInt(args[4]) : 5;
        int iters = args.length > 5 ? Integer.parseInt(args[5]) : 4;

        ViTModel model = ModelLoader.load(weights).model();
        int h = model.config().imgHeight();
        int w = model.config().imgWidth();
        int c = model.config().inChans();

        OrtEnvironment env = OrtEnvironment.getEnvironment();
        OrtSession.SessionOptions opts = new OrtSession.SessionOptions();
        opts.setIntraOpNumThreads(threads);
        opts.setInterOpNumThreads(1);
        opts.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
        opts.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
        System.out.printf(Locale.ROOT, "onnxruntime %s, %d intra-op threads; cpu engine %d threads%n",
                env.getVersion(), threads, threads);
        try (OrtSession session = env.createSession(onnx.toString(), opts);
                InferenceEngine cpu = new CpuEngine(model, EngineOptions.defaults().withThreads(threads))) {
            model = null;
            for (int batch : batches) {
                float[] pixels = new float[batch * c * h * w];
                SplittableRandom r = new SplittableRandom(batch);
                for (int i = 0; i < pixels.length; i++) {
                    pixels[i] = (float) r.nextGaussian();
                }
                Tensor input = Tensor.of(pixels, batch, c, h, w);
                long[] shape = {batch, c, h, w};
                try (OnnxTensor tensor = OnnxTensor.createTensor(env, FloatBuffer.wrap(pixels), shape)) {
                    Map<String, OnnxTensor> feed = Map.of(session.getInputNames().iterator().next(), tensor);
                    float[] ortLogits = run(session, feed);
                    float[] cpuLogits = cpu.forward(input, false).logits().toArray();
                    double diff = 0;
                    for (int i = 0; i < ortLogits.length; i++) {
                        diff = Math.max(diff, Math.abs(ortLogits[i] - cpuLogits[i]));
                    }
                    List<Double> ort = new ArrayList<>();
                    List<Double> ours = new ArrayList<>();
                    for (int i = 0; i < 2; i++) { // warm-up
                        run(session, feed);
                        cpu.forward(input, false);
                    }
                    for (int round = 0; round < rounds; round++) {
                        for (int i = 0; i < iters; i++) {
                            long t0 = System.nanoTime();
                            run(session, feed);
                            ort.add((System.nanoTime() - t0) / 1e6 / batch);
                        }
                        for (int i = 0; i < iters; i++) {
                            long t0 = System.nanoTime();
                            cpu.forward(input, false);
                            ours.add((System.nanoTime() - t0) / 1e6 / batch);
                        }
                    }
                    double ortMed = median(ort);
                    double cpuMed = median(ours);
                    System.out.printf(Locale.ROOT, "batch %d: onnxruntime median %.1f ms/image (min %.1f), cpu engine"
                            + " median %.1f ms/image (min %.1f), ratio cpu/ort %.2f, max |logit diff| %.2g%n", batch,
                            ortMed, min(ort), cpuMed, min(ours), cpuMed / ortMed, diff);
                }
            }
        }
    }

    private static float[] run(OrtSession session, Map<String, OnnxTensor> feed) throws OrtException {
        try (OrtSession.Result result = session.run(feed)) {
            float[][] logits = (float[][]) result.get(0).getValue();
            float[] flat = new float[logits.length * logits[0].length];
            for (int i = 0; i < logits.length; i++) {
                System.arraycopy(logits[i], 0, flat, i * logits[i].length, logits[i].length);
            }
            return flat;
        }
    }

    private static double median(List<Double> v) {
        double[] s = v.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        int n = s.length;
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    }

    private static double min(List<Double> v) {
        return v.stream().mapToDouble(Double::doubleValue).min().orElse(0);
    }
}
