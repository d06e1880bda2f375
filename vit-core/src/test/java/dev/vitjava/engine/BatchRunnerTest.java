package dev.vitjava.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vitjava.VitException;
import dev.vitjava.checkpoint.PreprocessingReader;
import dev.vitjava.image.ColorMode;
import dev.vitjava.image.DecodedImage;
import dev.vitjava.image.Preprocessing;
import dev.vitjava.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** A bad item, whatever goes wrong with it, costs only its own result; non-finite logits are an error. */
class BatchRunnerTest {

    private static final Preprocessing EXACT_8 = PreprocessingReader.huggingFace(null).withMode(ColorMode.L)
            .withImageSize(8, 8);
    /** Pixels / 255, not normalised: black is 0, which the fake engine turns into NaN. */
    private static final Preprocessing RAW = EXACT_8.withMean(0).withStd(1);

    /** Logits (v, -v) for an image whose first value is v, NaN instead of 0; out of memory for over 2 images. */
    private static final class FakeEngine implements InferenceEngine {
        int batches;
        /** Each warm-up and forward pass, in order, e.g. "warmUp 2 8x8", "forward 2". */
        final List<String> calls = new ArrayList<>();
        RuntimeException warmUpFailure;

        @Override
        public void warmUp(int batch, int height, int width) {
            calls.add("warmUp " + batch + " " + height + "x" + width);
            if (warmUpFailure != null) {
                throw warmUpFailure;
            }
        }

        @Override
        public String name() {
            return "fake";
        }

        @Override
        public Result forward(Tensor pixels, TraceRequest trace) {
            batches++;
            calls.add("forward " + pixels.dim(0));
            int n = pixels.dim(0);
            int size = pixels.size() / n;
            if (n > 2) {
                throw new OutOfMemoryError("Java heap space");
            }
            float[] logits = new float[2 * n];
            for (int i = 0; i < n; i++) {
                float v = pixels.get(i * size);
                logits[2 * i] = v == 0 ? Float.NaN : v;
                logits[2 * i + 1] = -v;
            }
            return new Result(Tensor.of(logits, n, 2), Tensor.of(new float[n], n, 1), Map.of());
        }
    }

    private static DecodedImage gray(int value) {
        byte[] px = new byte[64];
        java.util.Arrays.fill(px, (byte) value);
        return new DecodedImage(8, 8, ColorMode.L, px);
    }

    @Test
    void anyFailureOfAnItemIsReportedAndTheOthersRun() {
        List<String> results = new ArrayList<>();
        new BatchRunner(new FakeEngine(), RAW, 1_000_000, 2).run(4, i -> switch (i) {
            case 1 -> throw new IllegalStateException("decoder bug");
            case 2 -> throw new OutOfMemoryError("Java heap space");
            default -> gray(255);
        }, i -> "img" + i, (i, probs, error) -> results.add(i + (error != null ? " " + error.getMessage()
                : " ok " + Math.round(probs[0] * 100))), n -> { });
        assertThat(results).containsExactly("0 ok 88", "1 img1: cannot process (IllegalStateException: decoder bug)",
                "2 img2: cannot process (out of memory)", "3 ok 88");
    }

    @Test
    void nonFiniteLogitsAndFailedBatchesAreErrorsOfTheirItems() {
        List<String> results = new ArrayList<>();
        new BatchRunner(new FakeEngine(), RAW, 1_000_000, 2).run(2, i -> gray(i == 0 ? 0 : 255),
                i -> "img" + i, (i, probs, error) -> results.add(i + (error != null ? " " + error.getMessage() : " ok")),
                n -> { });
        assertThat(results).containsExactly("0 img0: the model gave non-finite logits (NaN or infinity): check its"
                + " weights and the --mean/--std values", "1 ok");

        results.clear();
        new BatchRunner(new FakeEngine(), RAW, 1_000_000, 3).run(3, i -> gray(255), i -> "img" + i,
                (i, probs, error) -> results.add(error.getMessage()), n -> { });
        assertThat(results).containsExactly("img0: inference failed: out of memory (try a smaller --batch)",
                "img1: inference failed: out of memory (try a smaller --batch)",
                "img2: inference failed: out of memory (try a smaller --batch)");
    }

    /** The engine prepares for the run's batch shape before the first image, when every image gets one size. */
    @Test
    void theEngineWarmsUpForTheRunsBatchShapeFirst() {
        FakeEngine engine = new FakeEngine();
        new BatchRunner(engine, RAW, 1_000_000, 2).run(3, i -> gray(255), i -> "img" + i,
                (i, probs, error) -> { }, n -> { });
        assertThat(engine.calls).containsExactly("warmUp 2 8x8", "forward 2", "forward 1");

        engine.calls.clear(); // fewer images than a batch: the warm-up is for the batch that will run
        new BatchRunner(engine, RAW, 1_000_000, 16).run(1, i -> gray(255), i -> "img" + i,
                (i, probs, error) -> { }, n -> { });
        assertThat(engine.calls).containsExactly("warmUp 1 8x8", "forward 1");

        engine.calls.clear(); // a traced run has other plans than the warm-up's; no images, nothing to prepare for
        new BatchRunner(engine, RAW, 1_000_000, 2).run(1, i -> gray(255), i -> "img" + i, TraceRequest.ALL,
                (i, result, row, error) -> { }, n -> { });
        new BatchRunner(engine, RAW, 1_000_000, 2).run(0, i -> gray(255), i -> "img" + i,
                (i, probs, error) -> { }, n -> { });
        assertThat(engine.calls).containsExactly("forward 1");

        engine.calls.clear(); // a resize that keeps the aspect ratio: sizes vary, no shape to prepare
        Preprocessing shortSide = RAW.withResize(Preprocessing.Resize.shortestEdge(8)).withCrop(null);
        assertThat(shortSide.outputHeight()).isNegative();
        new BatchRunner(engine, shortSide, 1_000_000, 2).run(1, i -> gray(255), i -> "img" + i,
                (i, probs, error) -> { }, n -> { });
        assertThat(engine.calls).containsExactly("forward 1");
    }

    /** A warm-up that fails changes nothing: the batches run, and report their own errors. */
    @Test
    void aFailedWarmUpIsLeftToTheBatches() {
        FakeEngine engine = new FakeEngine();
        engine.warmUpFailure = new VitException("input size 8x8 is not a multiple of the patch size 3");
        List<String> results = new ArrayList<>();
        new BatchRunner(engine, RAW, 1_000_000, 2).run(2, i -> gray(255), i -> "img" + i,
                (i, probs, error) -> results.add(i + (error != null ? " " + error.getMessage() : " ok")), n -> { });
        assertThat(engine.calls).containsExactly("warmUp 2 8x8", "forward 2");
        assertThat(results).containsExactly("0 ok", "1 ok");
    }

    @Test
    void batchSizesAreBounded() {
        assertThatThrownBy(() -> new BatchRunner(new FakeEngine(), EXACT_8, 1, 0)).isInstanceOf(VitException.class);
        assertThatThrownBy(() -> new BatchRunner(new FakeEngine(), EXACT_8, 1, 100_000))
                .isInstanceOf(VitException.class).hasMessageContaining("batch size must be between 1 and 1024");
    }

    @Test
    void theResizeStaysWithinThePixelLimit() {
        List<String> results = new ArrayList<>();
        Preprocessing shortSide = Preprocessing.torchvision().withMode(ColorMode.L);
        new BatchRunner(new FakeEngine(), shortSide, 1_000_000, 1).run(1,
                i -> new DecodedImage(100_000, 1, ColorMode.L, new byte[100_000]), i -> "wide.png",
                (i, probs, error) -> results.add(error.getMessage()), n -> { });
        assertThat(results).singleElement().asString().startsWith("wide.png: ")
                .contains("100000x1 image resized to 25600000x256")
                .contains("pixel limit of 1000000");
    }
}
