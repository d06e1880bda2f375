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
        return maxLinearError(rows, out, in, epilogue, seed, cpu, Tiles.DEFAULT);
    }

    /** {@link #maxLinearError}, the GPU form with these tile sizes. */
    private static double maxLinearError(int rows, int out, int in, int epilogue, long seed, boolean cpu,
            Tiles tiles) {
        Random random = new Random(seed);
        FloatArray x = Device.random(random, rows * in, 1f);
        FloatArray w = Device.random(random, 2 * out * in, 1f);
        FloatArray b = Device.random(random, 2 * out, 1f);
        FloatArray residual = Device.random(random, rows * out, 4f);
        FloatArray y = runLinear(x, w, b, residual, rows * out, MatMul.shape(Dims.TOKEN_ROWS, out, in, epilogue),
                Dims.of(rows, 1, 1, 1, 0), cpu, tiles);
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
     * of two layers' weights, so that the layer slicing is tested too, and returns y (ySize floats, then the rows the
     * grid has past the call's, which must stay untouched: a grid sized for a larger call, as CUDA graphs keep,
     * stores nothing there).
     */
    private static FloatArray runLinear(FloatArray x, FloatArray w, FloatArray b, FloatArray residual, int ySize,
            IntArray shape, IntArray dims, boolean cpu, Tiles tiles) {
        int out = shape.get(1);
        int in = shape.get(2);
        int gridRows = dims.get(shape.get(0)) + EXTRA_ROWS;
        FloatArray y = untouched(ySize + EXTRA_ROWS * out);
        dims.set(Dims.LAYER, 1);
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
            VectorFloat8 y8 = new VectorFloat8(untouched(vectors ? y.getSize() : MatMul.CPU_LANES));
            Device.run(Device.graph(x, wt, b, residual, y, y8, dims, shape).task("t", MatMul::linearCpu,
                    new KernelContext(), x, wt, b, residual, y, y8, dims, shape).transferToHost(
                    DataTransferMode.EVERY_EXECUTION, y8), Device.grid2D(MatMul.cpuGlobalX(out),
                    (gridRows + MatMul.CPU_ROWS - 1) / MatMul.CPU_ROWS, MatMul.CPU_LOCAL, 1), y);
            return storedOnly(vectors ? y8.getArray() : y, ySize);
        }
        Device.run(Device.graph(x, w, b, residual, y, dims, shape).task("t", MatMul::linear, new KernelContext(), x, w,
                b, residual, y, dims, shape, tiles.gemmX(), tiles.gemmY(), tiles.gemmK()), matmulGrid(gridRows, out,
                tiles), y);
        return storedOnly(y, ySize);
    }

    /** Grid rows past the call's in the linear, norm and attention tests. */
    private static final int EXTRA_ROWS = 64;

    /** An output buffer of NaNs (copy it in), which a kernel must overwrite where it stores and leave elsewhere. */
    static FloatArray untouched(int n) {
        FloatArray a = new FloatArray(n);
        a.init(Float.NaN);
        return a;
    }

    /** y, after checking that nothing past its first {@code stored} values was written. */
    static FloatArray storedOnly(FloatArray y, int stored) {
        for (int i = stored; i < y.getSize(); i++) {
            assertThat(y.get(i)).as("output %d, past the call's", i).isNaN();
        }
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
        FloatArray y = runLinear(x, w, b, table, batch * tokens * out, MatMul.embedShape(out, in, prefix),
                Dims.of(batch, 1, patches, 1, prefix), cpu, Tiles.DEFAULT);
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

    static uk.ac.manchester.tornado.api.WorkerGrid matmulGrid(int rows, int out, Tiles tiles) {
        return Device.grid2D(MatMul.globalX(out, tiles), MatMul.globalY(rows, tiles), tiles.gemmX(), tiles.gemmY());
    }

    /** Tile sizes other than the default, as {@link Tiles#fit} or {@code --tiles} may choose: all compute the same. */
    static Stream<Tiles> otherTiles() {
        return Stream.of(new Tiles(8, 4, 8, 16, 8), new Tiles(4, 16, 32, 128, 64));
    }

    static Stream<Arguments> linearShapesAndOtherTiles() {
        return linearShapes().flatMap(shape -> otherTiles().map(t -> Arguments.of(shape.get()[0], shape.get()[1],
                shape.get()[2], t)));
    }

    /** The GPU form with tiles of other sizes (and work-groups that are not square), GELU fused. */
    @ParameterizedTest(name = "rows={0} out={1} in={2} tiles={3}")
    @MethodSource("linearShapesAndOtherTiles")
    void linearWithOtherTiles(int rows, int out, int in, Tiles tiles) {
        assertThat(maxLinearError(rows, out, in, MatMul.GELU, rows * 19 + out * 3 + in, false, tiles))
                .isLessThanOrEqualTo(linearTolerance(in));
    }

    // ---- LayerNorm ----

    static Stream<Arguments> normShapes() {
        return Stream.of(Arguments.of(1, 1), Arguments.of(1, 64), Arguments.of(17, 64), Arguments.of(3, 5),
                Arguments.of(50, 100), Arguments.of(7, 130), Arguments.of(4, 768), Arguments.of(2, 1000));
    }

    /**
     * LayerNorm of every row, and of rows three rows apart (the class token of images of three tokens); the grid has
     * work-groups past the rows, which store nothing.
     */
    @ParameterizedTest(name = "rows={0} dim={1}")
    @MethodSource("normShapes")
    void layerNorm(int rows, int dim) {
        for (boolean classTokens : new boolean[] {false, true}) {
            int stride = classTokens ? 3 * dim : dim;
            Random random = new Random(rows * 101 + dim + stride);
            FloatArray x = Device.random(random, rows * stride, 3f);
            for (int i = 0; i < x.getSize(); i++) {
                x.set(i, x.get(i) + 2f); // a mean far from zero
            }
            FloatArray w = Device.random(random, dim, 1.5f);
            FloatArray b = Device.random(random, dim, 1f);
            FloatArray y = untouched((rows + 2) * dim);
            float eps = 1e-6f;
            IntArray dims = classTokens ? Dims.of(rows, 1, 2, 1, 1) : Dims.of(rows, 1, 1, 1, 0);
            IntArray shape = Norms.shape(dim, classTokens ? Dims.BATCH : Dims.TOKEN_ROWS, classTokens);
            Device.run(Device.graph(x, w, b, y, dims, shape).task("t", Norms::layerNorm, new KernelContext(), x, w, b,
                    y, dims, shape, eps), Device.grid1D((rows + 2) * Norms.LOCAL, Norms.LOCAL), y);
            storedOnly(y, rows * dim);
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
        FloatArray probs = untouched((batch + 1) * heads * tokens * tokens);
        FloatArray out = untouched((batch + 1) * tokens * dim);
        float scale = (float) (1 / Math.sqrt(headDim));
        IntArray dims = Dims.of(batch, 1, tokens, 1, 0);
        // a grid for one image more than the call's
        Device.run(Device.graph(qkv, probs, out, dims).task("t", Attention::attention, new KernelContext(), qkv, probs, out,
                dims, heads, headDim, scale), Device.grid1D((batch + 1) * heads * tokens, 32), probs, out);
        storedOnly(probs, batch * heads * tokens * tokens);
        storedOnly(out, batch * tokens * dim);
        double[][] expected = attentionExpected(qkv, batch, tokens, heads, headDim);
        assertThat(Device.maxAbsDiff(probs, expected[0])).isLessThanOrEqualTo(1e-6);
        assertThat(Device.maxAbsDiff(out, expected[1])).isLessThanOrEqualTo(1e-5);
    }

    /** Flash attention, also over several key tiles (tokens > BKV) and query blocks (tokens > BQ). */
    @ParameterizedTest(name = "batch={0} tokens={1} heads={2} headDim={3}")
    @MethodSource("attentionShapes")
    void flashAttention(int batch, int tokens, int heads, int headDim) {
        assertThat(maxFlashError(batch, tokens, heads, headDim, false, Tiles.DEFAULT)).isLessThanOrEqualTo(1e-5);
    }

    static Stream<Arguments> attentionShapesAndOtherTiles() {
        return attentionShapes().flatMap(shape -> otherTiles().map(t -> Arguments.of(shape.get()[0], shape.get()[1],
                shape.get()[2], shape.get()[3], t)));
    }

    /** Flash attention with other numbers of queries per group and keys per step. */
    @ParameterizedTest(name = "batch={0} tokens={1} heads={2} headDim={3} tiles={4}")
    @MethodSource("attentionShapesAndOtherTiles")
    void flashAttentionWithOtherTiles(int batch, int tokens, int heads, int headDim, Tiles tiles) {
        assertThat(maxFlashError(batch, tokens, heads, headDim, false, tiles)).isLessThanOrEqualTo(1e-5);
    }

    /** The CPU form of flash attention, on the shapes whose head dimension it handles. */
    @ParameterizedTest(name = "batch={0} tokens={1} heads={2} headDim={3}")
    @MethodSource("attentionShapes")
    void flashAttentionCpuForm(int batch, int tokens, int heads, int headDim) {
        org.junit.jupiter.api.Assumptions.assumeTrue(Attention.cpuHandles(headDim), "head dimension of whole float8s");
        assertThat(maxFlashError(batch, tokens, heads, headDim, true, Tiles.DEFAULT)).isLessThanOrEqualTo(1e-5);
    }

    /**
     * Runs {@link Attention#flash} with these tiles (or, {@code cpu}, {@link Attention#flashCpu}) on a grid for one
     * image more than the call's, checks that nothing was stored past the call's, and returns its largest error.
     */
    private static double maxFlashError(int batch, int tokens, int heads, int headDim, boolean cpu, Tiles tiles) {
        Random random = new Random(batch * 1000 + tokens * 10 + heads + headDim);
        int dim = heads * headDim;
        FloatArray qkv = Device.random(random, batch * tokens * 3 * dim, 2.5f);
        FloatArray out = untouched((batch + 1) * tokens * dim);
        float scale = (float) (1 / Math.sqrt(headDim));
        IntArray dims = Dims.of(batch, 1, tokens, 1, 0);
        if (cpu) {
            VectorFloat8 qkv8 = new VectorFloat8(qkv);
            Device.run(Device.graph(qkv8, out, dims).task("t", Attention::flashCpu, new KernelContext(), qkv8, out, dims,
                    heads, headDim, scale), Device.grid1D((batch + 1) * heads * tokens, Attention.CPU_LOCAL), out);
        } else {
            Device.run(Device.graph(qkv, out, dims).task("t", Attention::flash, new KernelContext(), qkv, out, dims, heads,
                    headDim, scale, tiles.flashQ(), tiles.flashKv()), Device.grid1D(Attention.flashGlobal(batch + 1,
                    heads, tokens, tiles.flashQ()), tiles.flashQ()), out);
        }
        storedOnly(out, batch * tokens * dim);
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
        IntArray dims = Dims.of(batch, gh, gw, patch, 0);
        Device.run(Device.graph(pixels, dims).task("t", Embedding::im2col, new KernelContext(), pixels, patches, dims,
                channels, patch), Device.grid1D(patches.getSize(), 128), patches);
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
                IntArray dims = Dims.of(batch, 1, tokens - prefix, 1, prefix);
                Device.run(Device.graph(x, dims).task("t", Embedding::pool, new KernelContext(), x, pooled, dims,
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
