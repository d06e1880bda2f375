package dev.vitjava.explain;

import dev.vitjava.engine.Backends;
import dev.vitjava.engine.EngineOptions;
import dev.vitjava.engine.InferenceEngine;
import dev.vitjava.engine.Trace;
import dev.vitjava.engine.TraceRequest;
import dev.vitjava.image.ColorMode;
import dev.vitjava.image.DecodedImage;
import dev.vitjava.model.RandomWeights;
import dev.vitjava.model.StandardArchitectures;
import dev.vitjava.tensor.Tensor;
import dev.vitjava.model.ViTConfig;
import dev.vitjava.model.ViTModel;
import dev.vitjava.render.Canvas;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import javax.imageio.ImageIO;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What {@code vit attention} costs against {@code vit classify} on one image, on the cpu engine (random weights):
 * {@code classify} is the untraced pass; {@code attentionMaps} the pass tracing every block's attention, q and k
 * into {@link AttentionMaps} (cls rows, rollout); {@code pictures} draws the pictures of the default selection
 * (rollout, the last block, the grid, one q·kᵀ per head) and encodes them as PNG in memory; {@code embedTokens}
 * is {@code vit embed --pool mean|tokens}'s pass (the normalised tokens traced; {@code --pool cls} is the untraced
 * pass of {@code classify}).
 *
 * <pre>
 * java --add-modules jdk.incubator.vector -jar vit-benchmarks/target/benchmarks.jar AttentionBenchmark
 * </pre>
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-XX:+UseParallelGC"})
@State(Scope.Benchmark)
public class AttentionBenchmark {

    @Param({"224", "384"})
    public int size;

    ViTConfig c;
    InferenceEngine engine;
    Tensor pixels;
    DecodedImage base;
    Map<String, Tensor> maps;
    float[] probs;

    @Setup(Level.Trial)
    public void setUp() {
        c = StandardArchitectures.byName("vit_base_patch16_" + size, 1000).orElseThrow();
        ViTModel model = new ViTModel(c, RandomWeights.create(c, 1));
        engine = Backends.create("cpu", model, EngineOptions.defaults());
        pixels = RandomWeights.pixels(2, 1, 3, size, size);
        byte[] px = new byte[size * size * 3];
        new java.util.Random(3).nextBytes(px);
        base = new DecodedImage(size, size, ColorMode.RGB, px);
        AttentionMaps m = attentionMaps();
        maps = m.tensors();
        probs = m.probs();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        engine.close();
    }

    @Benchmark
    public Tensor classify() {
        return engine.forward(pixels, TraceRequest.NONE).logits();
    }

    @Benchmark
    public Tensor embedTokens() {
        return engine.forward(pixels, TraceRequest.keys(List.of(Trace.TOKENS_NORMED))).trace().get(Trace.TOKENS_NORMED);
    }

    @Benchmark
    public AttentionMaps attentionMaps() {
        int g = size / c.patchSize();
        AttentionMaps m = new AttentionMaps(c, g, g, HeadFusion.MEAN, 0, c.depth() - 1);
        engine.forward(pixels, m.request());
        return m;
    }

    @Benchmark
    public int pictures() throws IOException {
        int g = size / c.patchSize();
        AttentionPictures p = new AttentionPictures(base, g, g);
        float[] cls = maps.get("cls_attn").toArray();
        List<Integer> heads = java.util.stream.IntStream.range(0, c.numHeads()).boxed().toList();
        int bytes = png(p.rollout(maps.get("rollout").toArray()))
                + png(p.block(cls, c.numHeads(), c.depth() - 1, heads)) + png(p.grid(cls, c.depth(), c.numHeads()));
        int tokens = 1 + g * g;
        int offset = (c.depth() - 1) * c.numHeads() * tokens * c.headDim();
        for (int h : heads) {
            bytes += png(AttentionPictures.qk(maps.get("q").toArray(), maps.get("k").toArray(), offset, probs,
                    c.depth() - 1, h, tokens, c.headDim()));
        }
        return bytes;
    }

    private static int png(Canvas canvas) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(canvas.toImage(), "png", out);
        return out.size();
    }
}
