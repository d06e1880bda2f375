package dev.vitjava.tornado.kernels;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vitjava.engine.Erf;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;
import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.enums.DataTransferMode;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;
import uk.ac.manchester.tornado.api.types.collections.VectorFloat8;

/**
 * Every kernel on the device against a plain double-precision Java computation, on random data and on shapes
 * that do not divide the tile or work-group sizes.
 */
class KernelsTest {

    // ---- linear layers ----

    static Stream<Arguments> linearShapes() {
        // rows, out, in: 1s, primes, exact tiles, several output tiles each way, and odd depths
        return Stream.of(
                Arguments.of(1, 1, 1),
                Arguments.of(1, 10, 64),
                Arguments.of(17, 192, 64),
                Arguments.of(37, 64, 256),
                Arguments.of(16, 16, 16),
                Arguments.of(33, 47, 19),
                Arguments.of(5, 7, 300),
                Arguments.of(50, 130, 31),
                Arguments.of(129, 65, 33));
    }

    /** y = x W_lᵀ + b_l in double, for the layer-th slice of w (layers·out, in) and b (layers·out). */
    static double[] linearExpected(FloatArray x, FloatArray w, FloatArray b, int layer, int rows, int out, int in) {
        double[] y = new double[rows * out];
        for (int r = 0; r < rows; r++) {
            for (int o = 0; o < out; o++) {
                double acc = b.get(layer * out + o);
                for (int i = 0; i < in; i++) {
                    acc += (double) x.get(r * in + i) * w.get((layer * out + o) * in + i);
                }
                y[r * out + o] = acc;
            }
        }
        return y;
    }

    /** Float accumulation of {@code in} products of values in [-1, 1]: allow a few ulp per term. */
    static double linearTolerance(int in) {
        return 1e-6 * (4 + in / 8.0);
    }

    /** The largest difference of the linear kernel from the double-precision result with the epilogue applied. */
    private static double maxLinearError(int rows, int out, int in, int epilogue, long seed, boolean cpu) {
        Random random = new Random(seed);
        FloatArray x = Device.random(random, rows * in, 1f);
        FloatArray w = Device.random(random, 2 * out * in, 1f);
        FloatArray b = Device.random(random, 2 * out, 1f);
        FloatArray residual = Device.random(random, rows * out, 4f);
        FloatArray y = runLinear(x, w, b, residual, rows * out, MatMul.shape(rows, out, in, epilogue), cpu);
        double[] expected = linearExpected(x, w, b, 1, rows, out, in);
        for (int i = 0; i < expected.length; i++) {
            if (epilogue == MatMul.GELU) {
                expected[i] = Erf.gelu(expected[i]);
            } else if (epilogue == MatMul.RESIDUAL) {
                expected[i] += residual.get(i);
            }
        }
        return Device.maxAbsDiff(y, expected);
    }

    /**
     * Runs {@link MatMul#linear} (or, {@code cpu}, {@link MatMul#linearCpu} on W in its float8 layout) on the second
     * of two layers' weights, so that the layer slicing is tested too, and returns y (ySize floats).
     */
    private static FloatArray runLinear(FloatArray x, FloatArray w, FloatArray b, FloatArray residual, int ySize,
            IntArray shape, boolean cpu) {
        int rows = shape.get(0);
        int out = shape.get(1);
        int in = shape.get(2);
        FloatArray y = new FloatArray(ySize);
        IntArray layer = new IntArray(1);
        layer.set(0, 1);
        if (cpu) {
            // NaN in the padding: a kernel that let it into an output would fail
            FloatArray padded = new FloatArray(2 * in * MatMul.cpuVectors(out) * MatMul.CPU_LANES);
            padded.init(Float.NaN);
            for (int l = 0; l < 2; l++) {
                for (int o = 0; o < out; o++) {
                    for (int i = 0; i < in; i++) {
                        padded.set(MatMul.cpuWeightIndex(l, o, i, out, in), w.get((l * out + o) * in + i));
                    }
                }
            }
            VectorFloat8 wt = new VectorFloat8(padded);
            boolean vectors = shape.get(3) == MatMul.VECTORS;
            VectorFloat8 y8 = new VectorFloat8(vectors ? ySize / MatMul.CPU_LANES : 1);
            Device.run(Device.graph(x, wt, b, residual, layer, shape).task("t", MatMul::linearCpu,
                    new KernelContext(), x, wt, b, residual, y, y8, layer, shape).transferToHost(
                    DataTransferMode.EVERY_EXECUTION, y8), Device.grid2D(MatMul.cpuGlobalX(out),
                    (rows + MatMul.CPU_ROWS - 1) / MatMul.CPU_ROWS, MatMul.CPU_LOCAL, 1), y);
            return vectors ? y8.getArray() : y;
        }
        Device.run(Device.graph(x, w, b, residual, layer, shape).task("t", MatMul::linear, new KernelContext(), x, w,
                b, residual, y, layer, shape), matmulGrid(rows, out), y);
        return y;
    }

    @ParameterizedTest(name = "rows={0} out={1} in={2}")
    @MethodSource("linearShapes")
    void linearWithBias(int rows, int out, int in) {
        assertThat(maxLinearError(rows, out, in, MatMul.BIAS, rows * 31 + out * 7 + in, false))
                .isLessThanOrEqualTo(linearTolerance(in));
    }

    @ParameterizedTest(name = "rows={0} out={1} in={2}")
    @MethodSource("linearShapes")
    void linearWithGelu(int rows, int out, int in) {
        assertThat(maxLinearError(rows, out, in, MatMul.GELU, rows * 17 + out * 5 + in, false))
                .isLessThanOrEqualTo(linearTolerance(in) * 1.2);
    }

    @ParameterizedTest(name = "rows={0} out={1} in={2}")
    @MethodSource("linearShapes")
    void linearWithResidual(int rows, int out, int in) {
        assertThat(maxLinearError(rows, out, in, MatMul.RESIDUAL, rows * 13 + out * 3 + in, false))
                .isLessThanOrEqualTo(linearTolerance(in) + 1e-6);
    }

    /** The CPU form, each shape with one of the epilogues. */
    @ParameterizedTest(name = "rows={0} out={1} in={2}")
    @MethodSource("linearShapes")
    void linearCpuForm(int rows, int out, int in) {
        assertThat(maxLinearError(rows, out, in, (rows + out + in) % 3, rows * 7 + out * 11 + in, true))
                .isLessThanOrEqualTo(linearTolerance(in) * 1.2 + 1e-6);
    }

    /** The CPU form writing float8 rows (for flashCpu's qkv), on the shapes whose width is whole float8s. */
    @ParameterizedTest(name = "rows={0} out={1} in={2}")
    @MethodSource("linearShapes")
    void linearCpuFormWritingVectors(int rows, int out, int in) {
        org.junit.jupiter.api.Assumptions.assumeTrue(out % MatMul.CPU_LANES == 0, "whole float8 rows");
        assertThat(maxLinearError(rows, out, in, MatMul.VECTORS, rows * 5 + out * 13 + in, true))
                .isLessThanOrEqualTo(linearTolerance(in));
    }

    /**
     * The patch embedding's epilogue: the product's rows land on their images' patch tokens plus the position
     * embedding, and each image's class token (when there is one) is written from its row of the table.
     */
    @ParameterizedTest(name = "prefix={0} cpu={1}")
    @CsvSource({"0, false", "1, false", "0, true", "1, true"})
    void embedEpiloguePlacesTheTokens(int prefix, boolean cpu) {
        int batch = 3;
        int patches = 37;
        int out = 24;
        int in = 20;
        int tokens = prefix + patches;
        Random random = new Random(prefix * 2 + (cpu ? 1 : 0));
        FloatArray x = Device.random(random, batch * patches * in, 1f);
        FloatArray w = Device.random(random, 2 * out * in, 1f);
        FloatArray b = Device.random(random, 2 * out, 1f);
        FloatArray table = Device.random(random, tokens * out, 1f);
        FloatArray y = runLinear(x, w, b, table, batch * tokens * out,
                MatMul.embedShape(batch * patches, out, in, patches, prefix), cpu);
        double[] product = linearExpected(x, w, b, 1, batch * patches, out, in);
        double[] expected = new double[batch * tokens * out];
        for (int n = 0; n < batch; n++) {
            for (int t = 0; t < tokens; t++) {
                for (int o = 0; o < out; o++) {
                    double v = t < prefix ? 0 : product[(n * patches + t - prefix) * out + o];
                    expected[(n * tokens + t) * out + o] = v + table.get(t * out + o);
                }
            }
        }
        assertThat(Device.maxAbsDiff(y, expected)).isLessThanOrEqualTo(linearTolerance(in) + 1e-6);
    }

    static uk.ac.manchester.tornado.api.WorkerGrid matmulGrid(int rows, int out) {
        return Device.grid2D(MatMul.globalX(out), MatMul.globalY(rows), MatMul.TX, MatMul.TY);
    }

    // ---- LayerNorm ----

    static Stream<Arguments> normShapes() {
        return Stream.of(Arguments.of(1, 1), Arguments.of(1, 64), Arguments.of(17, 64), Arguments.of(3, 5),
                Arguments.of(50, 100), Arguments.of(7, 130), Arguments.of(4, 768), Arguments.of(2, 1000));
    }

    /** LayerNorm of every row, and of rows three rows apart (a class token per image). */
    @ParameterizedTest(name = "rows={0} dim={1}")
    @MethodSource("normShapes")
    void layerNorm(int rows, int dim) {
        for (int stride : new int[] {dim, 3 * dim}) {
            Random random = new Random(rows * 101 + dim + stride);
            FloatArray x = Device.random(random, rows * stride, 3f);
            for (int i = 0; i < x.getSize(); i++) {
                x.set(i, x.get(i) + 2f); // a mean far from zero
            }
            FloatArray w = Device.random(random, dim, 1.5f);
            FloatArray b = Device.random(random, dim, 1f);
            FloatArray y = new FloatArray(rows * dim);
            float eps = 1e-6f;
            IntArray layer = new IntArray(1);
            layer.init(0);
            IntArray shape = Norms.shape(dim, stride);
            Device.run(Device.graph(x, w, b, layer, shape).task("t", Norms::layerNorm, new KernelContext(), x, w, b,
                    y, layer, shape, eps), Device.grid1D(rows * Norms.LOCAL, Norms.LOCAL), y);
            double[] expected = new double[rows * dim];
            for (int r = 0; r < rows; r++) {
                double mean = 0;
                for (int j = 0; j < dim; j++) {
                    mean += x.get(r * stride + j);
                }
                mean /= dim;
                double var = 0;
                for (int j = 0; j < dim; j++) {
                    var += Math.pow(x.get(r * stride + j) - mean, 2);
                }
                var /= dim;
                double inv = 1 / Math.sqrt(var + eps);
                for (int j = 0; j < dim; j++) {
                    expected[r * dim + j] = (x.get(r * stride + j) - mean) * inv * w.get(j) + b.get(j);
                }
            }
            assertThat(Device.maxAbsDiff(y, expected)).as("row stride %d", stride)
                    .isLessThanOrEqualTo(dim == 1 ? 1e-3 : 3e-6);
        }
    }

    // ---- attention ----

    static Stream<Arguments> attentionShapes() {
        // batch, tokens, heads, headDim
        return Stream.of(Arguments.of(1, 1, 1, 1), Arguments.of(2, 17, 4, 16), Arguments.of(1, 37, 3, 8),
                Arguments.of(3, 5, 2, 7), Arguments.of(1, 65, 1, 33), Arguments.of(2, 197, 3, 64),
                Arguments.of(1, 70, 2, 128), Arguments.of(1, 33, 2, 24), Arguments.of(2, 40, 1, 40));
    }

    /** Probabilities and outputs of attention in double: [0] (batch, heads, T, T), [1] (batch·T, dim). */
    static double[][] attentionExpected(FloatArray qkv, int batch, int tokens, int heads, int headDim) {
        int dim = heads * headDim;
        double[] expectedProbs = new double[batch * heads * tokens * tokens];
        double[] expectedOut = new double[batch * tokens * dim];
        int stride = 3 * dim;
        for (int n = 0; n < batch; n++) {
            for (int h = 0; h < heads; h++) {
                for (int i = 0; i < tokens; i++) {
                    double[] s = new double[tokens];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j < tokens; j++) {
                        double dot = 0;
                        for (int e = 0; e < headDim; e++) {
                            dot += (double) qkv.get((n * tokens + i) * stride + h * headDim + e)
                                    * qkv.get((n * tokens + j) * stride + dim + h * headDim + e);
                        }
                        s[j] = dot / Math.sqrt(headDim);
                        max = Math.max(max, s[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j < tokens; j++) {
                        s[j] = Math.exp(s[j] - max);
                        sum += s[j];
                    }
                    for (int j = 0; j < tokens; j++) {
                        s[j] /= sum;
                        expectedProbs[((n * heads + h) * tokens + i) * tokens + j] = s[j];
                    }
                    for (int e = 0; e < headDim; e++) {
                        double acc = 0;
                        for (int j = 0; j < tokens; j++) {
                            acc += s[j] * qkv.get((n * tokens + j) * stride + 2 * dim + h * headDim + e);
                        }
                        expectedOut[(n * tokens + i) * dim + h * headDim + e] = acc;
                    }
                }
            }
        }
        return new double[][] {expectedProbs, expectedOut};
    }

    @ParameterizedTest(name = "batch={0} tokens={1} heads={2} headDim={3}")
    @MethodSource("attentionShapes")
    void attention(int batch, int tokens, int heads, int headDim) {
        Random random = new Random(batch * 1000 + tokens * 10 + heads + headDim);
        int dim = heads * headDim;
        FloatArray qkv = Device.random(random, batch * tokens * 3 * dim, 2.5f);
        FloatArray probs = new FloatArray(batch * heads * tokens * tokens);
        FloatArray out = new FloatArray(batch * tokens * dim);
        float scale = (float) (1 / Math.sqrt(headDim));
        Device.run(Device.graph(qkv).task("t", Attention::attention, new KernelContext(), qkv, probs, out, batch,
                tokens, heads, headDim, scale), Device.grid1D(batch * heads * tokens, 32), probs, out);
        double[][] expected = attentionExpected(qkv, batch, tokens, heads, headDim);
        assertThat(Device.maxAbsDiff(probs, expected[0])).isLessThanOrEqualTo(1e-6);
        assertThat(Device.maxAbsDiff(out, expected[1])).isLessThanOrEqualTo(1e-5);
    }

    /** Flash attention, also over several key tiles (tokens > BKV) and query blocks (tokens > BQ). */
    @ParameterizedTest(name = "batch={0} tokens={1} heads={2} headDim={3}")
    @MethodSource("attentionShapes")
    void flashAttention(int batch, int tokens, int heads, int headDim) {
        assertThat(maxFlashError(batch, tokens, heads, headDim, false)).isLessThanOrEqualTo(1e-5);
    }

    /** The CPU form of flash attention, on the shapes whose head dimension it handles. */
    @ParameterizedTest(name = "batch={0} tokens={1} heads={2} headDim={3}")
    @MethodSource("attentionShapes")
    void flashAttentionCpuForm(int batch, int tokens, int heads, int headDim) {
        org.junit.jupiter.api.Assumptions.assumeTrue(Attention.cpuHandles(headDim), "head dimension of whole float8s");
        assertThat(maxFlashError(batch, tokens, heads, headDim, true)).isLessThanOrEqualTo(1e-5);
    }

    /** Runs {@link Attention#flash} (or, {@code cpu}, {@link Attention#flashCpu}) and returns its largest error. */
    private static double maxFlashError(int batch, int tokens, int heads, int headDim, boolean cpu) {
        Random random = new Random(batch * 1000 + tokens * 10 + heads + headDim);
        int dim = heads * headDim;
        FloatArray qkv = Device.random(random, batch * tokens * 3 * dim, 2.5f);
        FloatArray out = new FloatArray(batch * tokens * dim);
        float scale = (float) (1 / Math.sqrt(headDim));
        if (cpu) {
            VectorFloat8 qkv8 = new VectorFloat8(qkv);
            Device.run(Device.graph(qkv8).task("t", Attention::flashCpu, new KernelContext(), qkv8, out, batch,
                    tokens, heads, headDim, scale), Device.grid1D(batch * heads * tokens, Attention.CPU_LOCAL), out);
        } else {
            Device.run(Device.graph(qkv).task("t", Attention::flash, new KernelContext(), qkv, out, batch, tokens,
                    heads, headDim, scale), Device.grid1D(Attention.flashGlobal(batch, heads, tokens), Attention.BQ),
                    out);
        }
        return Device.maxAbsDiff(out, attentionExpected(qkv, batch, tokens, heads, headDim)[1]);
    }

    // ---- embedding and pooling ----

    @Test
    void im2colMatchesTheConvolutionLayout() {
        int batch = 2;
        int channels = 3;
        int patch = 5;
        int gh = 3;
        int gw = 4;
        int height = gh * patch;
        int width = gw * patch;
        FloatArray pixels = Device.random(new Random(5), batch * channels * height * width, 1f);
        int k = channels * patch * patch;
        FloatArray patches = new FloatArray(batch * gh * gw * k);
        Device.run(Device.graph(pixels).task("t", Embedding::im2col, new KernelContext(), pixels, patches, batch,
                channels, height, width, patch, gw, gh * gw), Device.grid1D(patches.getSize(), 128), patches);
        double[] expected = new double[patches.getSize()];
        for (int n = 0; n < batch; n++) {
            for (int py = 0; py < gh; py++) {
                for (int px = 0; px < gw; px++) {
                    for (int c = 0; c < channels; c++) {
                        for (int ky = 0; ky < patch; ky++) {
                            for (int kx = 0; kx < patch; kx++) {
                                expected[((n * gh + py) * gw + px) * k + (c * patch + ky) * patch + kx] =
                                        pixels.get(((n * channels + c) * height + py * patch + ky) * width + px * patch
                                                + kx);
                            }
                        }
                    }
                }
            }
        }
        assertThat(Device.maxAbsDiff(patches, expected)).isZero();
    }

    @Test
    void poolTakesTheClassTokenOrTheMeanOfThePatches() {
        int batch = 3;
        int tokens = 11;
        int dim = 13;
        FloatArray x = Device.random(new Random(3), batch * tokens * dim, 2f);
        for (int avg = 0; avg <= 1; avg++) {
            for (int prefix = avg == 0 ? 1 : 0; prefix <= 1; prefix++) {
                FloatArray pooled = new FloatArray(batch * dim);
                Device.run(Device.graph(x).task("t", Embedding::pool, new KernelContext(), x, pooled, batch, tokens,
                        prefix, dim, avg), Device.grid1D(pooled.getSize(), 32), pooled);
                double[] expected = new double[batch * dim];
                for (int n = 0; n < batch; n++) {
                    for (int j = 0; j < dim; j++) {
                        if (avg == 0) {
                            expected[n * dim + j] = x.get(n * tokens * dim + j);
                        } else {
                            double s = 0;
                            for (int t = prefix; t < tokens; t++) {
                                s += x.get((n * tokens + t) * dim + j);
                            }
                            expected[n * dim + j] = s / (tokens - prefix);
                        }
                    }
                }
                assertThat(Device.maxAbsDiff(pooled, expected)).as("avg %d prefix %d", avg, prefix)
                        .isLessThanOrEqualTo(1e-6);
            }
        }
    }
}
