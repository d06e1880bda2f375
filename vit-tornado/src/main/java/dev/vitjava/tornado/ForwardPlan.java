package dev.vitjava.tornado;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vitjava.VitException;
import dev.vitjava.engine.DeviceProfile;
import dev.vitjava.engine.Trace;
import dev.vitjava.model.ViTConfig;
import dev.vitjava.model.ViTModel;
import dev.vitjava.tensor.Tensor;
import dev.vitjava.tornado.kernels.Attention;
import dev.vitjava.tornado.kernels.Dims;
import dev.vitjava.tornado.kernels.Embedding;
import dev.vitjava.tornado.kernels.MatMul;
import dev.vitjava.tornado.kernels.Norms;
import dev.vitjava.tornado.kernels.Tiles;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.function.Supplier;
import java.util.function.ToIntFunction;
import uk.ac.manchester.tornado.api.GridScheduler;
import uk.ac.manchester.tornado.api.ImmutableTaskGraph;
import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.TaskGraph;
import uk.ac.manchester.tornado.api.TornadoExecutionPlan;
import uk.ac.manchester.tornado.api.TornadoExecutionResult;
import uk.ac.manchester.tornado.api.TornadoProfilerResult;
import uk.ac.manchester.tornado.api.WorkerGrid;
import uk.ac.manchester.tornado.api.WorkerGrid1D;
import uk.ac.manchester.tornado.api.WorkerGrid2D;
import uk.ac.manchester.tornado.api.common.TornadoDevice;
import uk.ac.manchester.tornado.api.enums.DataTransferMode;
import uk.ac.manchester.tornado.api.enums.ProfilerMode;
import uk.ac.manchester.tornado.api.enums.TornadoVMBackendType;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;
import uk.ac.manchester.tornado.api.types.collections.VectorFloat8;

/**
 * The ViT forward pass as TornadoVM task graphs in one execution plan, built and JIT-compiled once and then reused by
 * every call that fits its buffers ({@link Capacity}), whatever its batch and patch grid. The kernels read the
 * call's sizes from small arrays on the device ({@link Dims}), set before each call; the worker grids are resized to
 * the call (except under CUDA graphs, which replay the grids they captured: there the grids stay at the capacity and
 * the kernels' own bounds leave the rest idle); the position embedding for the call's grid goes in with the pixels.
 * So a plan holds the only copy of the weights on the device whatever shapes it serves.
 *
 * <p>The plan has three task graphs: the embedding, one transformer block, and the head. The block graph runs
 * depth times, once per block: the blocks' weights lie concatenated per kind ({@link DeviceWeights}) and a
 * layer index in the call's sizes, copied in before each run, selects the block's slice in every kernel, so the plan
 * compiles 7 block tasks whatever the depth. The linear layers and the norms take their sizes from small arrays on
 * the device ({@link MatMul#shape}, {@link Norms#shape}), so TornadoVM generates one source for all the linear layers
 * of a plan and one for all its norms, and the OpenCL driver builds each once: an untraced vit_tiny plan on PoCL
 * compiles 11 tasks into 4 distinct programs. Every graph moves its weights to the device on the first execution
 * only; the residual stream x and the block scratch buffers stay on the device from graph to graph
 * ({@code persistOnDevice} / {@code consumeFromDevice}); only the pixels, the position table and the sizes go in on
 * every call, and only the logits and pre-logits come back (with the intermediates when the plan traces). The grid
 * scheduler beside the graphs gives every task an explicit worker grid.
 *
 * <pre>
 * ═════════════════════════════ graph "embed" ═════════════════════════════
 *   pixels (N,C,H,W), cls + pos (T, D), sizes ──copy in, every call
 *      │
 *   ┌────────┐
 *   │ im2col │──▶ patches (N·G, C·p·p)                    G = gh·gw patches
 *   └───┬────┘
 *   ┌───▼────────┐
 *   │ patch_proj │──▶ x (N·T, D) = [cls | patches · Wpeᵀ + b] + pos   T = prefix + G (the matmul's epilogue
 *   └───┬────────┘                                                    places the tokens)
 *       │ x persists on the device            (trace: copied out as "embed")
 * ═════════════════ graph "block", run for layer = 0 … depth-1 ═════════════════
 *       │ x consumed from the embedding graph, updated in place
 *   ┌───▼───┐
 *   │ norm1 │──▶ h = LayerNorm(x)                            (local-memory row reduction)
 *   └───┬───┘
 *   ┌───▼─┐
 *   │ qkv │──▶ qkv (N·T, 3D) = h · Wqkvᵀ + b                 [q | k | v], head-major
 *   └───┬─┘                                                (trace: copied out as "block{layer}_q", "_k")
 *   ┌───▼───────┐
 *   │ attention │──▶ attn (N·T, D) = softmax(q kᵀ / √hd) v   flash: online softmax in registers;
 *   └───┬───────┘                                             trace: probs (N, heads, T, T) copied out as
 *   ┌───▼──┐                                                  "block{layer}_attn"
 *   │ proj │──▶ x_mid = x + attn · Wprojᵀ + b                 (residual fused)
 *   └───┬──┘
 *   ┌───▼───┐
 *   │ norm2 │──▶ h = LayerNorm(x_mid)
 *   └───┬───┘
 *   ┌───▼─┐
 *   │ fc1 │──▶ mlp (N·T, hidden) = gelu(h · W1ᵀ + b1)        (exact GELU fused)
 *   └───┬─┘
 *   ┌───▼─┐
 *   │ fc2 │──▶ x = x_mid + mlp · W2ᵀ + b2                    (residual fused; trace: copied out as
 *   └───┬─┘                                                   "block{layer}_out")
 * ═════════════════════════════ graph "head" ═════════════════════════════
 *   ┌──────┐
 *   │ norm │──▶ tokens (N·T, D) = LayerNorm(x)          (if the model has a final norm; trace: "tokens_normed")
 *   └───┬──┘
 *   ┌───▼──┐
 *   │ pool │──▶ pooled (N, D): class token, or mean of the patch tokens
 *   └───┬──┘    (untraced, class-token pooling: one norm task normalises the class tokens into pooled)
 *   ┌───▼─────┐
 *   │ fc_norm │──▶ pre-logits (N, D) = LayerNorm(pooled)  (if the model has fc_norm)
 *   └───┬─────┘
 *   ┌───▼──┐
 *   │ head │──▶ logits (N, classes) = pre-logits · Whᵀ + b
 *   └──────┘
 *   logits, pre-logits ──copy out, every call
 * </pre>
 */
final class ForwardPlan implements AutoCloseable {

    /**
     * What a plan's buffers hold: up to {@code batch} images, of up to {@code patches} patches each and
     * {@code patchRows} in all. Most buffers scale with the rows, so a plan that has run a large batch of small
     * images and one large image holds the larger of the two, not their product. A tracing plan copies every
     * intermediate out on each call; the {@link Trace} keeps the requested ones.
     */
    record Capacity(int batch, int patches, long patchRows, boolean trace) {

        /** Exactly one call's shape. */
        static Capacity of(int batch, int patches, boolean trace) {
            return new Capacity(batch, patches, (long) batch * patches, trace);
        }

        boolean holds(int batch, int patches) {
            return batch <= this.batch && patches <= this.patches && (long) batch * patches <= patchRows;
        }

        /** A capacity that holds both this one's calls and the given one. */
        Capacity grownFor(int batch, int patches) {
            return new Capacity(Math.max(batch, this.batch), Math.max(patches, this.patches),
                    Math.max((long) batch * patches, patchRows), trace);
        }
    }

    /** The outputs of one call, on the heap. */
    record Output(float[] logits, float[] preLogits) {
    }

    private static final AtomicInteger SERIAL = new AtomicInteger();
    private static final int LOCAL_1D = 128;
    private static final int LOCAL_ATTENTION = 64;
    private static final ObjectMapper JSON = new ObjectMapper();

    final Capacity capacity;
    private final ViTModel model;
    private final ViTConfig c;

    private final FloatArray pixels;
    /** What the patch embedding adds to each token: its position, and on the class token's row the class token. */
    private final FloatArray tokenAdd;
    private final FloatArray x;
    private final FloatArray probs;
    private final FloatArray blockOut;
    private final FloatArray qkvOut;
    private final FloatArray normed;
    private final FloatArray preLogits;
    private final FloatArray logits;
    /**
     * The call's sizes ({@link Dims}), one array per graph (two graphs that both move an array to the device both
     * free it on close); the block graph's also holds the layer index, set before each of its runs.
     */
    private final IntArray embedDims = Dims.create();
    private final IntArray blockDims = Dims.create();
    private final IntArray headDims = Dims.create();
    /** The shape the sizes and grids are set for: batch, gridH, gridW (none yet: 0). */
    private int batch;
    private int gridH;
    private int gridW;
    /** Each task's grid, sized from a call's {@link Dims}. */
    private final List<Consumer<IntArray>> gridSizes = new ArrayList<>();
    /** Whether the grids stay at the capacity (CUDA graphs replay the grids they captured). */
    private final boolean fixedGrids;

    /** TornadoVM's graph names (unique per plan) and ours ("embed", "block", "head"), in plan order. */
    private final List<String> graphNames = new ArrayList<>();
    private final List<String> logicalNames = new ArrayList<>();
    private final GridScheduler grids = new GridScheduler();
    private final TornadoExecutionPlan plan;
    private final String deviceName;
    final long compileNanos;
    private boolean profilerOn;
    /** The kernels' CPU forms ({@link MatMul#linearCpu}, {@link Attention#flashCpu}), not the local-memory ones. */
    private final boolean cpuForms;
    /** The local-memory forms' tile sizes. */
    private final Tiles tiles;

    ForwardPlan(ViTModel model, DeviceWeights w, Capacity capacity, TornadoDevice device, TornadoSettings settings,
            Tiles tiles) {
        this.capacity = capacity;
        this.model = model;
        this.c = model.config();
        int n = capacity.batch();
        int p = c.patchSize();
        int channels = c.inChans();
        int prefix = c.numPrefixTokens();
        int d = c.embedDim();
        int heads = c.numHeads();
        int hidden = c.mlpHidden();
        int k = channels * p * p;
        int tokens = prefix + capacity.patches();
        int patchRowCount = checkSize(capacity.patchRows() * k, "patches") / k;
        int rows = checkSize(capacity.patchRows() + (long) n * prefix, "tokens");
        checkSize((long) rows * Math.max(3L * d, hidden), "activations");
        if (capacity.trace()) {
            // a call's (batch, heads, tokens, tokens) fits in heads × rows × tokens
            checkSize((long) heads * rows * tokens, "attention probabilities");
        }
        if (c.headDim() > Attention.MAX_HEAD_DIM) {
            throw new VitException("the tornado backend handles heads of up to " + Attention.MAX_HEAD_DIM
                    + " dimensions; this model's are " + c.headDim());
        }
        this.cpuForms = w.cpuForms;
        this.tiles = tiles;
        long maxGroup = TornadoDevices.maxWorkGroup(device);
        int needed = cpuForms ? LOCAL_1D : Math.max(LOCAL_1D, Math.max(tiles.gemmGroup(), tiles.flashQ()));
        if (maxGroup < needed) {
            throw new VitException("TornadoVM device " + TornadoDevices.name(device) + " allows work-groups of "
                    + maxGroup + " work-items; the tornado backend needs " + needed
                    + (cpuForms ? "" : " with tile sizes " + tiles + " (--tiles)"));
        }
        long localNeeded = cpuForms ? 0 : Math.max(tiles.gemmLocalBytes(), tiles.flashLocalBytes(c.headDim()));
        long local = TornadoDevices.localMemory(device);
        if (local < localNeeded) {
            throw new VitException("TornadoVM device " + TornadoDevices.name(device) + " has "
                    + TornadoDevices.bytes(local) + " of local memory; tile sizes " + tiles + " need "
                    + TornadoDevices.bytes(localNeeded) + ": choose smaller ones with --tiles");
        }
        boolean trace = capacity.trace();
        this.fixedGrids = settings.cudaGraph() && device.getTornadoVMBackend() == TornadoVMBackendType.PTX;
        float eps = (float) c.layerNormEps();
        String prefixName = "vit" + SERIAL.incrementAndGet() + "_";
        boolean half = w.precision == DeviceWeights.Precision.FP16;

        pixels = new FloatArray(patchRowCount * k);
        FloatArray patchRows = new FloatArray(patchRowCount * k);
        tokenAdd = FloatArrays.zeros(tokens * d);
        x = new FloatArray(rows * d);
        FloatArray h = new FloatArray(rows * d);
        // the CPU forms' untraced plan keeps qkv as float8 vectors, which flashCpu reads whole; the float array is
        // then a placeholder
        boolean qkvVectors = cpuForms && !trace && Attention.cpuHandles(c.headDim());
        VectorFloat8 qkv8 = new VectorFloat8(qkvVectors ? rows * 3 * d / MatMul.CPU_LANES : 1);
        FloatArray qkv = new FloatArray(qkvVectors ? 1 : rows * 3 * d);
        FloatArray attn = new FloatArray(rows * d);
        FloatArray xMid = new FloatArray(rows * d);
        FloatArray mlp = new FloatArray(rows * hidden);
        probs = trace ? new FloatArray(heads * rows * tokens) : null;
        blockOut = trace ? new FloatArray(rows * d) : null;
        qkvOut = trace ? new FloatArray(rows * 3 * d) : null;
        // with the class token as the pooled token, the final norm normalises only the class tokens, straight into
        // pooled (LayerNorm is per token), unless the trace wants every normalised token
        boolean normClassTokens = w.norm != null && c.globalPool() != ViTConfig.GlobalPool.AVG && !trace;
        normed = w.norm != null && !normClassTokens ? new FloatArray(rows * d) : null;
        FloatArray pooled = new FloatArray(n * d);
        preLogits = w.fcNorm != null ? new FloatArray(n * d) : pooled;
        logits = new FloatArray(n * c.numClasses());
        // what the linear layers without a residual get as one (never read): an array passed twice to a task is
        // freed twice when the plan closes, and each graph needs its own
        FloatArray noResidualBlock = FloatArrays.zeros(1);
        FloatArray noResidualHead = FloatArrays.zeros(1);
        // the same for linearCpu's float8 output, which only the qkv projection of such a plan writes
        VectorFloat8 noVectorsEmbed = new VectorFloat8(1);
        VectorFloat8 noVectorsHead = new VectorFloat8(1);
        KernelContext ctx = new KernelContext();
        List<ImmutableTaskGraph> graphs = new ArrayList<>();

        // ---- embed ----
        String g = name(prefixName, "embed");
        TaskGraph embedGraph = new TaskGraph(g)
                .transferToDevice(DataTransferMode.EVERY_EXECUTION, pixels, tokenAdd, embedDims)
                .transferToDevice(DataTransferMode.FIRST_EXECUTION, w.patchEmbed.weight().array(),
                        w.patchEmbed.bias(), noVectorsEmbed)
                .task("im2col", Embedding::im2col, ctx, pixels, patchRows, embedDims, channels, p);
        linearTask(embedGraph, "patch_proj", ctx, patchRows, w.patchEmbed, tokenAdd, x, noVectorsEmbed, embedDims,
                Dims.PATCH_ROWS, MatMul.EMBED, half);
        if (trace) {
            embedGraph.transferToHost(DataTransferMode.EVERY_EXECUTION, x);
        } else {
            embedGraph.persistOnDevice(x);
        }
        grid1D(g, "im2col", dims -> dims.get(Dims.PATCH_ROWS) * k, LOCAL_1D);
        graphs.add(embedGraph.snapshot());

        // ---- one block, run depth times ----
        String embedName = g;
        g = name(prefixName, "block");
        float scale = (float) (1.0 / Math.sqrt(c.headDim()));
        TaskGraph block = new TaskGraph(g)
                .consumeFromDevice(embedName, x)
                .transferToDevice(DataTransferMode.EVERY_EXECUTION, blockDims)
                .transferToDevice(DataTransferMode.FIRST_EXECUTION, h, qkv, qkv8, attn, xMid, mlp, noResidualBlock)
                .transferToDevice(DataTransferMode.FIRST_EXECUTION, w.norm1.weight(), w.norm1.bias(),
                        w.qkv.weight().array(), w.qkv.bias(), w.proj.weight().array(), w.proj.bias(),
                        w.norm2.weight(), w.norm2.bias(), w.fc1.weight().array(), w.fc1.bias(),
                        w.fc2.weight().array(), w.fc2.bias());
        normTask(block, "norm1", ctx, x, w.norm1, h, blockDims, Dims.TOKEN_ROWS, false, eps);
        linearTask(block, "qkv", ctx, h, w.qkv, noResidualBlock, qkv, qkv8, blockDims, Dims.TOKEN_ROWS,
                qkvVectors ? MatMul.VECTORS : MatMul.BIAS, half);
        ToIntFunction<IntArray> queries = dims -> dims.get(Dims.BATCH) * heads * dims.get(Dims.TOKENS);
        if (trace) {
            block.task("attention", Attention::attention, ctx, qkv, probs, attn, blockDims, heads, c.headDim(),
                    scale);
            grid1D(g, "attention", queries, LOCAL_ATTENTION);
        } else if (qkvVectors) {
            block.task("attention", Attention::flashCpu, ctx, qkv8, attn, blockDims, heads, c.headDim(), scale);
            grid1D(g, "attention", queries, Attention.CPU_LOCAL);
        } else {
            block.task("attention", Attention::flash, ctx, qkv, attn, blockDims, heads, c.headDim(), scale,
                    tiles.flashQ(), tiles.flashKv());
            grid1D(g, "attention", dims -> Attention.flashGlobal(dims.get(Dims.BATCH), heads, dims.get(Dims.TOKENS),
                    tiles.flashQ()), tiles.flashQ());
        }
        linearTask(block, "proj", ctx, attn, w.proj, x, xMid, qkv8, blockDims, Dims.TOKEN_ROWS, MatMul.RESIDUAL,
                half);
        normTask(block, "norm2", ctx, xMid, w.norm2, h, blockDims, Dims.TOKEN_ROWS, false, eps);
        linearTask(block, "fc1", ctx, h, w.fc1, noResidualBlock, mlp, qkv8, blockDims, Dims.TOKEN_ROWS, MatMul.GELU,
                half);
        linearTask(block, "fc2", ctx, mlp, w.fc2, xMid, x, qkv8, blockDims, Dims.TOKEN_ROWS, MatMul.RESIDUAL, half);
        if (trace) {
            // x belongs to the embedding graph (which frees it): the trace copies it into a buffer of this graph
            block.task("trace_out", Embedding::copy, ctx, x, blockOut, blockDims, d)
                    .task("trace_qkv", Embedding::copy, ctx, qkv, qkvOut, blockDims, 3 * d)
                    .transferToHost(DataTransferMode.EVERY_EXECUTION, blockOut, qkvOut, probs);
            grid1D(g, "trace_out", dims -> dims.get(Dims.TOKEN_ROWS) * d, LOCAL_1D);
            grid1D(g, "trace_qkv", dims -> dims.get(Dims.TOKEN_ROWS) * 3 * d, LOCAL_1D);
        }
        graphs.add(block.snapshot());

        // ---- head ----
        String blockName = g;
        g = name(prefixName, "head");
        TaskGraph head = new TaskGraph(g).consumeFromDevice(blockName, x)
                .transferToDevice(DataTransferMode.EVERY_EXECUTION, headDims)
                .transferToDevice(DataTransferMode.FIRST_EXECUTION, noResidualHead, noVectorsHead);
        if (w.norm != null) {
            head.transferToDevice(DataTransferMode.FIRST_EXECUTION, w.norm.weight(), w.norm.bias());
        }
        if (normClassTokens) {
            normTask(head, "norm", ctx, x, w.norm, pooled, headDims, Dims.BATCH, true, eps);
        } else {
            FloatArray tokensOut = x;
            if (w.norm != null) {
                normTask(head, "norm", ctx, x, w.norm, normed, headDims, Dims.TOKEN_ROWS, false, eps);
                tokensOut = normed;
            }
            head.task("pool", Embedding::pool, ctx, tokensOut, pooled, headDims, prefix, d,
                    c.globalPool() == ViTConfig.GlobalPool.AVG ? 1 : 0);
            grid1D(g, "pool", dims -> dims.get(Dims.BATCH) * d, LOCAL_1D);
        }
        if (w.fcNorm != null) {
            head.transferToDevice(DataTransferMode.FIRST_EXECUTION, w.fcNorm.weight(), w.fcNorm.bias());
            normTask(head, "fc_norm", ctx, pooled, w.fcNorm, preLogits, headDims, Dims.BATCH, false, eps);
        }
        head.transferToDevice(DataTransferMode.FIRST_EXECUTION, w.head.weight().array(), w.head.bias());
        linearTask(head, "head", ctx, preLogits, w.head, noResidualHead, logits, noVectorsHead, headDims,
                Dims.BATCH, MatMul.BIAS, half);
        head.transferToHost(DataTransferMode.EVERY_EXECUTION, logits, preLogits);
        if (trace && normed != null) {
            head.transferToHost(DataTransferMode.EVERY_EXECUTION, normed);
        }
        graphs.add(head.snapshot());

        // the grids start at the capacity, every call's sizes at their largest
        IntArray largest = Dims.create();
        largest.set(Dims.BATCH, n);
        largest.set(Dims.TOKENS, tokens);
        largest.set(Dims.TOKEN_ROWS, rows);
        largest.set(Dims.PATCH_ROWS, patchRowCount);
        sizeGrids(largest);
        plan = new TornadoExecutionPlan(graphs.toArray(new ImmutableTaskGraph[0]));
        plan.withDevice(device).withGridScheduler(grids);
        settings.apply(plan, device.getTornadoVMBackend() == TornadoVMBackendType.PTX);
        deviceName = TornadoDevices.name(device);
        long start = System.nanoTime();
        try {
            plan.withPreCompilation();
        } catch (RuntimeException e) {
            closeQuietly();
            throw e;
        }
        compileNanos = System.nanoTime() - start;
    }

    /**
     * Adds a linear-layer task and its grid: y = epilogue(in · Wᵀ + b) over the call's {@code dims[rowsAt]} rows and
     * the {@code dims[LAYER]}-th slice of the weights, the layer's sizes going to the kernel in a shape array
     * ({@link MatMul#shape}); residual is read only by {@link MatMul#RESIDUAL} and {@link MatMul#EMBED} (pass a
     * distinct placeholder otherwise), and the CPU form's y8 written only by {@link MatMul#VECTORS} (which writes y8
     * instead of y).
     */
    private void linearTask(TaskGraph graph, String name, KernelContext ctx, FloatArray in,
            DeviceWeights.Linear l, FloatArray residual, FloatArray y, VectorFloat8 y8, IntArray dims, int rowsAt,
            int epilogue, boolean half) {
        IntArray shape = epilogue == MatMul.EMBED
                ? MatMul.embedShape(l.out(), l.in(), c.numPrefixTokens())
                : MatMul.shape(rowsAt, l.out(), l.in(), epilogue);
        graph.transferToDevice(DataTransferMode.FIRST_EXECUTION, shape);
        if (cpuForms) {
            graph.task(name, MatMul::linearCpu, ctx, in, l.weight().cpu(), l.bias(), residual, y, y8, dims, shape);
        } else if (half) {
            graph.task(name, MatMul::linearHalf, ctx, in, l.weight().f16(), l.bias(), residual, y, dims, shape,
                    tiles.gemmX(), tiles.gemmY(), tiles.gemmK());
        } else {
            graph.task(name, MatMul::linear, ctx, in, l.weight().f32(), l.bias(), residual, y, dims, shape,
                    tiles.gemmX(), tiles.gemmY(), tiles.gemmK());
        }
        gridMatMul(graph.getTaskGraphName(), name, rowsAt, l.out());
    }

    /**
     * Adds a LayerNorm task over the call's {@code dims[rowsAt]} rows of the embedding width: rows of x, or with
     * {@code classTokens} each image's class token.
     */
    private void normTask(TaskGraph graph, String name, KernelContext ctx, FloatArray in, DeviceWeights.Norm norm,
            FloatArray out, IntArray dims, int rowsAt, boolean classTokens, float eps) {
        IntArray shape = Norms.shape(c.embedDim(), rowsAt, classTokens);
        graph.transferToDevice(DataTransferMode.FIRST_EXECUTION, shape)
                .task(name, Norms::layerNorm, ctx, in, norm.weight(), norm.bias(), out, dims, shape, eps);
        // one work-group of Norms.LOCAL per row
        grid1D(graph.getTaskGraphName(), name, sizes -> sizes.get(rowsAt) * Norms.LOCAL, Norms.LOCAL);
    }

    private String name(String prefix, String logical) {
        String actual = prefix + logical;
        graphNames.add(actual);
        logicalNames.add(logical);
        return actual;
    }

    /** n, if a buffer of n floats can be allocated. */
    private static int checkSize(long n, String what) {
        if (n > Integer.MAX_VALUE - 64) {
            throw new VitException("batch too large for the tornado backend: the " + what + " would need " + n
                    + " floats (at most " + (Integer.MAX_VALUE - 64) + " per buffer); use a smaller batch");
        }
        return (int) n;
    }

    /** A 1-D grid of the given work-items for a call's sizes, rounded up to the local size. */
    private void grid1D(String graph, String task, ToIntFunction<IntArray> items, int local) {
        WorkerGrid grid = new WorkerGrid1D(local);
        grids.addWorkerGrid(graph + "." + task, grid);
        gridSizes.add(dims -> {
            grid.setGlobalWork(roundUp(Math.max(items.applyAsInt(dims), 1), local), 1, 1);
            grid.setLocalWork(local, 1, 1); // also recounts the work-groups
        });
    }

    /**
     * Dimension 0 over output features, 1 over the call's {@code dims[rowsAt]} rows: in
     * {@link Tiles#gemmX}×{@link Tiles#gemmY} work-groups, or for the CPU form {@link MatMul#CPU_LANES} features and
     * {@link MatMul#CPU_ROWS} rows per work-item.
     */
    private void gridMatMul(String graph, String task, int rowsAt, int out) {
        WorkerGrid grid = new WorkerGrid2D(1, 1);
        grids.addWorkerGrid(graph + "." + task, grid);
        gridSizes.add(dims -> {
            int rows = Math.max(dims.get(rowsAt), 1);
            if (cpuForms) {
                grid.setGlobalWork(MatMul.cpuGlobalX(out), (rows + MatMul.CPU_ROWS - 1) / MatMul.CPU_ROWS, 1);
                grid.setLocalWork(MatMul.CPU_LOCAL, 1, 1);
            } else {
                grid.setGlobalWork(MatMul.globalX(out, tiles), MatMul.globalY(rows, tiles), 1);
                grid.setLocalWork(tiles.gemmX(), tiles.gemmY(), 1);
            }
        });
    }

    private void sizeGrids(IntArray dims) {
        gridSizes.forEach(size -> size.accept(dims));
    }

    private static int roundUp(int n, int multiple) {
        return (n + multiple - 1) / multiple * multiple;
    }

    /**
     * Runs the graphs in order on a batch of images of gridH × gridW patches, which the capacity must hold.
     *
     * @param profile null, or a list that receives one profile per graph
     * @param trace   receives the intermediates when the plan traces
     */
    Output run(Tensor input, int gridH, int gridW, List<DeviceProfile> profile, Trace trace) {
        shape(input.dim(0), gridH, gridW);
        FloatArrays.copy(input.data(), pixels, input.size());
        return runGraphs(profile, trace);
    }

    /**
     * One execution on zero images of the given shape, its outputs dropped: it moves the weights and launches every
     * kernel once, on the grids of a real call (drivers specialise a kernel's code for its launch: PoCL by work-group
     * size and by whether the grid is under 65535 work-items wide, so a smaller warm-up grid would leave code to
     * generate).
     */
    void warmUp(int batch, int gridH, int gridW) {
        shape(batch, gridH, gridW);
        pixels.init(0f);
        runGraphs(null, null);
    }

    /** Whether the plan has run (a call or the warm-up). */
    boolean hasRun() {
        return batch > 0;
    }

    /** Sets the call's sizes, position table and grids, if the shape differs from the last call's. */
    private void shape(int batch, int gridH, int gridW) {
        if (!capacity.holds(batch, gridH * gridW)) {
            throw new IllegalStateException("a plan for " + capacity + " cannot run " + batch + " images of "
                    + gridH + "x" + gridW + " patches");
        }
        if (batch == this.batch && gridH == this.gridH && gridW == this.gridW) {
            return;
        }
        for (IntArray dims : List.of(embedDims, blockDims, headDims)) {
            Dims.set(dims, batch, gridH, gridW, c.patchSize(), c.numPrefixTokens());
        }
        if (gridH != this.gridH || gridW != this.gridW) {
            Tensor pos = model.posEmbed(gridH, gridW);
            FloatArrays.copy(pos.data(), tokenAdd, pos.size());
            int classRows = c.numPrefixTokens() * c.embedDim();
            for (int j = 0; j < classRows; j++) {
                tokenAdd.set(j, model.weights().clsToken().get(j) + tokenAdd.get(j));
            }
        }
        if (!fixedGrids) {
            sizeGrids(embedDims);
        }
        this.batch = batch;
        this.gridH = gridH;
        this.gridW = gridW;
    }

    private Output runGraphs(List<DeviceProfile> profile, Trace trace) {
        boolean wantProfile = profile != null;
        if (wantProfile != profilerOn) {
            if (wantProfile) {
                plan.withProfiler(ProfilerMode.SILENT);
            } else {
                plan.withoutProfiler();
            }
            profilerOn = wantProfile;
        }
        int d = c.embedDim();
        int tokens = embedDims.get(Dims.TOKENS);
        int rows = embedDims.get(Dims.TOKEN_ROWS);
        boolean traced = capacity.trace() && trace != null;
        // the block graph reuses x and probs for every block, so a traced block is copied before the next runs
        execute(0, profile);
        if (traced) {
            trace.embed(() -> FloatArrays.toHeap(x, rows * d));
        }
        for (int i = 0; i < c.depth(); i++) {
            blockDims.set(Dims.LAYER, i);
            execute(1, profile);
            if (traced) {
                Supplier<float[]> qkvRows = () -> FloatArrays.toHeap(qkvOut, rows * 3 * d);
                trace.blockQk(i,
                        () -> Trace.splitHeads(qkvRows.get(), 3 * d, 0, batch, tokens, c.numHeads(), c.headDim()),
                        () -> Trace.splitHeads(qkvRows.get(), 3 * d, d, batch, tokens, c.numHeads(), c.headDim()));
                trace.blockAttn(i, () -> FloatArrays.toHeap(probs, batch * c.numHeads() * tokens * tokens));
                trace.blockOut(i, () -> FloatArrays.toHeap(blockOut, rows * d));
            }
        }
        execute(2, profile);
        if (traced && normed != null) {
            trace.tokensNormed(() -> FloatArrays.toHeap(normed, rows * d));
        }
        return new Output(FloatArrays.toHeap(logits, batch * c.numClasses()), FloatArrays.toHeap(preLogits, batch * d));
    }

    private void execute(int graph, List<DeviceProfile> profile) {
        TornadoExecutionResult result = plan.withGraph(graph).execute();
        if (profile != null) {
            profile.add(graphProfile(graph, result.getProfilerResult()));
        }
    }

    String deviceName() {
        return deviceName;
    }

    /** One graph's share of a profiled call (no wall or compile time: those belong to the whole call). */
    private DeviceProfile graphProfile(int index, TornadoProfilerResult r) {
        String logical = logicalNames.get(index);
        List<DeviceProfile.Kernel> kernels = new ArrayList<>();
        JsonNode graph = lastLogEntry(r.getProfileLog(), graphNames.get(index));
        if (graph != null) {
            String taskPrefix = graphNames.get(index) + ".";
            for (Map.Entry<String, JsonNode> e : graph.properties()) {
                if (e.getKey().startsWith(taskPrefix) && e.getValue().isObject()) {
                    String method = e.getValue().path("METHOD").asText("");
                    kernels.add(new DeviceProfile.Kernel(logical + "." + e.getKey().substring(taskPrefix.length()),
                            method, e.getValue().path("TASK_KERNEL_TIME").asLong(0)));
                }
            }
        }
        kernels.sort(java.util.Comparator.comparingInt(k -> taskOrder(k.name())));
        return new DeviceProfile(deviceName, 1, 0, 0, r.getDeviceKernelTime(), r.getDeviceWriteTime(),
                r.getDeviceReadTime(), r.getTotalBytesCopyIn(), r.getTotalBytesCopyOut(),
                r.getKernelDispatchTime() + r.getDataTransferDispatchTime(), kernels);
    }

    private static final List<String> TASK_ORDER = List.of("im2col", "patch_proj", "norm1", "qkv",
            "attention", "proj", "norm2", "fc1", "fc2", "trace_out", "trace_qkv", "norm", "pool", "fc_norm", "head");

    private static int taskOrder(String name) {
        return TASK_ORDER.indexOf(name.substring(name.indexOf('.') + 1));
    }

    /**
     * The newest entry for a graph in TornadoVM's profiler log (which, in SILENT mode, appends one JSON object
     * per execution): {"graph": {"TOTAL_KERNEL_TIME": "…", …, "graph.task": {"METHOD": …, "TASK_KERNEL_TIME": …}}}.
     */
    static JsonNode lastLogEntry(String log, String graphName) {
        if (log == null) {
            return null;
        }
        int at = log.lastIndexOf("\"" + graphName + "\": {");
        if (at < 0) {
            return null;
        }
        int open = log.lastIndexOf('{', at);
        if (open < 0) {
            return null;
        }
        try {
            JsonNode node = JSON.readTree(log.substring(open));
            return node == null ? null : node.get(graphName);
        } catch (IOException e) {
            return null;
        }
    }

    private void closeQuietly() {
        try {
            plan.close();
        } catch (Exception e) {
            // already failing
        }
    }

    @Override
    public void close() {
        try {
            plan.withAllGraphs();
            plan.close();
        } catch (Exception e) {
            throw new VitException("could not release the TornadoVM execution plan: " + e.getMessage(), e);
        }
    }
}
