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
import dev.vitjava.tornado.kernels.Embedding;
import dev.vitjava.tornado.kernels.MatMul;
import dev.vitjava.tornado.kernels.Norms;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
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
 * The ViT forward pass for one input shape (batch, patch grid) as TornadoVM task graphs in one execution plan,
 * built and JIT-compiled once and then reused by every call with that shape.
 *
 * <p>The plan has three task graphs: the embedding, one transformer block, and the head. The block graph runs
 * depth times, once per block: the blocks' weights lie concatenated per kind ({@link DeviceWeights}) and a
 * one-element layer index, copied in before each run, selects the block's slice in every kernel, so the plan
 * compiles 7 block tasks whatever the depth. The linear layers and the norms take their sizes from small arrays on
 * the device ({@link MatMul#shape}, {@link Norms#shape}), so TornadoVM generates one source for all the linear layers
 * of a plan and one for all its norms, and the OpenCL driver builds each once: an untraced vit_tiny plan on PoCL
 * compiles 11 tasks into 4 distinct programs. Every graph moves its weights to the device on the first execution
 * only; the residual stream x and the block scratch buffers stay on the device from graph to graph
 * ({@code persistOnDevice} / {@code consumeFromDevice}); only the pixels (and the layer index) go in on every call,
 * and only the logits and pre-logits come back (with the intermediates when the plan traces). The grid scheduler
 * beside the graphs gives every task an explicit worker grid.
 *
 * <pre>
 * ═════════════════════════════ graph "embed" ═════════════════════════════
 *   pixels (N,C,H,W) ──copy in, every call
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
     * What a plan is specialised for: TornadoVM bakes the sizes into the kernels. A tracing plan copies every
     * intermediate out on each call; the {@link Trace} keeps the requested ones.
     */
    record Key(int batch, int gridH, int gridW, boolean trace) {
    }

    /** The outputs of one call, on the heap. */
    record Output(float[] logits, float[] preLogits) {
    }

    private static final AtomicInteger SERIAL = new AtomicInteger();
    private static final int LOCAL_1D = 128;
    private static final int LOCAL_ATTENTION = 64;
    private static final ObjectMapper JSON = new ObjectMapper();

    final Key key;
    final int tokens;
    private final ViTConfig c;
    private final int rows;

    private final FloatArray pixels;
    private final FloatArray x;
    private final FloatArray probs;
    private final FloatArray blockOut;
    private final FloatArray qkvOut;
    private final FloatArray normed;
    private final FloatArray preLogits;
    private final FloatArray logits;
    /** The block graph's layer index, copied in before each of its runs. */
    private final IntArray layer = new IntArray(1);

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

    ForwardPlan(ViTModel model, DeviceWeights w, Key key, TornadoDevice device, TornadoSettings settings) {
        this.key = key;
        this.c = model.config();
        int n = key.batch();
        int p = c.patchSize();
        int channels = c.inChans();
        int height = key.gridH() * p;
        int width = key.gridW() * p;
        int patches = key.gridH() * key.gridW();
        int prefix = c.numPrefixTokens();
        int d = c.embedDim();
        int heads = c.numHeads();
        int hidden = c.mlpHidden();
        int k = channels * p * p;
        this.tokens = prefix + patches;
        this.rows = n * tokens;
        checkSize((long) n * heads * tokens * tokens, "attention probabilities");
        checkSize((long) rows * Math.max(3L * d, hidden), "activations");
        checkSize((long) n * patches * k, "patches");
        checkSize((long) n * channels * height * width, "pixels");
        if (c.headDim() > Attention.MAX_HEAD_DIM) {
            throw new VitException("the tornado backend handles heads of up to " + Attention.MAX_HEAD_DIM
                    + " dimensions; this model's are " + c.headDim());
        }
        long maxGroup = TornadoDevices.maxWorkGroup(device);
        int needed = Math.max(MatMul.TX * MatMul.TY, LOCAL_1D);
        if (maxGroup < needed) {
            throw new VitException("TornadoVM device " + TornadoDevices.name(device) + " allows work-groups of "
                    + maxGroup + " work-items; the tornado backend needs " + needed);
        }
        boolean trace = key.trace();
        float eps = (float) c.layerNormEps();
        String prefixName = "vit" + SERIAL.incrementAndGet() + "_";
        boolean half = w.precision == DeviceWeights.Precision.FP16;
        this.cpuForms = w.cpuForms;

        pixels = new FloatArray(n * channels * height * width);
        FloatArray patchRows = new FloatArray(n * patches * k);
        // what the patch embedding adds to each token: its position, and on the class token's row the class token
        FloatArray tokenAdd = FloatArrays.of(model.posEmbed(key.gridH(), key.gridW()));
        for (int j = 0; j < prefix * d; j++) {
            tokenAdd.set(j, model.weights().clsToken().get(j) + tokenAdd.get(j));
        }
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
        probs = trace ? new FloatArray(n * heads * tokens * tokens) : null;
        blockOut = trace ? new FloatArray(rows * d) : null;
        qkvOut = trace ? new FloatArray(rows * 3 * d) : null;
        // with the class token as the pooled token, the final norm normalises only the class tokens, straight into
        // pooled (LayerNorm is per token), unless the trace wants every normalised token
        boolean normClassTokens = w.norm != null && c.globalPool() != ViTConfig.GlobalPool.AVG && !trace;
        normed = w.norm != null && !normClassTokens ? new FloatArray(rows * d) : null;
        FloatArray pooled = new FloatArray(n * d);
        preLogits = w.fcNorm != null ? new FloatArray(n * d) : pooled;
        logits = new FloatArray(n * c.numClasses());
        // layer 0 for the embedding's and the head's linear layers and norms; one array per graph, since two graphs
        // that both move an array to the device both free it on close
        IntArray first = new IntArray(1);
        first.init(0);
        IntArray firstOfHead = new IntArray(1);
        firstOfHead.init(0);
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
                .transferToDevice(DataTransferMode.EVERY_EXECUTION, pixels)
                .transferToDevice(DataTransferMode.FIRST_EXECUTION, w.patchEmbed.weight().array(),
                        w.patchEmbed.bias(), tokenAdd, first, noVectorsEmbed)
                .task("im2col", Embedding::im2col, ctx, pixels, patchRows, n, channels, height, width, p,
                        key.gridW(), patches);
        linearTask(embedGraph, "patch_proj", ctx, patchRows, w.patchEmbed, tokenAdd, x, noVectorsEmbed, first,
                n * patches, MatMul.EMBED, half);
        if (trace) {
            embedGraph.transferToHost(DataTransferMode.EVERY_EXECUTION, x);
        } else {
            embedGraph.persistOnDevice(x);
        }
        grid1D(g, "im2col", n * patches * k, LOCAL_1D);
        graphs.add(embedGraph.snapshot());

        // ---- one block, run depth times ----
        String embedName = g;
        g = name(prefixName, "block");
        float scale = (float) (1.0 / Math.sqrt(c.headDim()));
        TaskGraph block = new TaskGraph(g)
                .consumeFromDevice(embedName, x)
                .transferToDevice(DataTransferMode.EVERY_EXECUTION, layer)
                .transferToDevice(DataTransferMode.FIRST_EXECUTION, h, qkv, qkv8, attn, xMid, mlp, noResidualBlock)
                .transferToDevice(DataTransferMode.FIRST_EXECUTION, w.norm1.weight(), w.norm1.bias(),
                        w.qkv.weight().array(), w.qkv.bias(), w.proj.weight().array(), w.proj.bias(),
                        w.norm2.weight(), w.norm2.bias(), w.fc1.weight().array(), w.fc1.bias(),
                        w.fc2.weight().array(), w.fc2.bias());
        normTask(block, "norm1", ctx, x, w.norm1, h, layer, rows, d, eps);
        linearTask(block, "qkv", ctx, h, w.qkv, noResidualBlock, qkv, qkv8, layer, rows,
                qkvVectors ? MatMul.VECTORS : MatMul.BIAS, half);
        if (trace) {
            block.task("attention", Attention::attention, ctx, qkv, probs, attn, n, tokens, heads, c.headDim(),
                            scale);
            grid1D(g, "attention", n * heads * tokens, LOCAL_ATTENTION);
        } else if (qkvVectors) {
            block.task("attention", Attention::flashCpu, ctx, qkv8, attn, n, tokens, heads, c.headDim(), scale);
            grid1D(g, "attention", n * heads * tokens, Attention.CPU_LOCAL);
        } else {
            block.task("attention", Attention::flash, ctx, qkv, attn, n, tokens, heads, c.headDim(), scale);
            WorkerGrid flash = new WorkerGrid1D(Attention.flashGlobal(n, heads, tokens));
            flash.setLocalWork(Attention.BQ, 1, 1);
            grids.addWorkerGrid(g + ".attention", flash);
        }
        linearTask(block, "proj", ctx, attn, w.proj, x, xMid, qkv8, layer, rows, MatMul.RESIDUAL, half);
        normTask(block, "norm2", ctx, xMid, w.norm2, h, layer, rows, d, eps);
        linearTask(block, "fc1", ctx, h, w.fc1, noResidualBlock, mlp, qkv8, layer, rows, MatMul.GELU, half);
        linearTask(block, "fc2", ctx, mlp, w.fc2, xMid, x, qkv8, layer, rows, MatMul.RESIDUAL, half);
        if (trace) {
            // x belongs to the embedding graph (which frees it): the trace copies it into a buffer of this graph
            block.task("trace_out", Embedding::copy, ctx, x, blockOut, rows * d)
                    .task("trace_qkv", Embedding::copy, ctx, qkv, qkvOut, rows * 3 * d)
                    .transferToHost(DataTransferMode.EVERY_EXECUTION, blockOut, qkvOut, probs);
            grid1D(g, "trace_out", rows * d, LOCAL_1D);
            grid1D(g, "trace_qkv", rows * 3 * d, LOCAL_1D);
        }
        graphs.add(block.snapshot());

        // ---- head ----
        String blockName = g;
        g = name(prefixName, "head");
        TaskGraph head = new TaskGraph(g).consumeFromDevice(blockName, x)
                .transferToDevice(DataTransferMode.FIRST_EXECUTION, firstOfHead, noResidualHead, noVectorsHead);
        if (w.norm != null) {
            head.transferToDevice(DataTransferMode.FIRST_EXECUTION, w.norm.weight(), w.norm.bias());
        }
        if (normClassTokens) {
            normTask(head, "norm", ctx, x, w.norm, pooled, firstOfHead, n, tokens * d, eps);
        } else {
            FloatArray tokensOut = x;
            if (w.norm != null) {
                normTask(head, "norm", ctx, x, w.norm, normed, firstOfHead, rows, d, eps);
                tokensOut = normed;
            }
            head.task("pool", Embedding::pool, ctx, tokensOut, pooled, n, tokens, prefix, d,
                    c.globalPool() == ViTConfig.GlobalPool.AVG ? 1 : 0);
            grid1D(g, "pool", n * d, LOCAL_1D);
        }
        if (w.fcNorm != null) {
            head.transferToDevice(DataTransferMode.FIRST_EXECUTION, w.fcNorm.weight(), w.fcNorm.bias());
            normTask(head, "fc_norm", ctx, pooled, w.fcNorm, preLogits, firstOfHead, n, d, eps);
        }
        head.transferToDevice(DataTransferMode.FIRST_EXECUTION, w.head.weight().array(), w.head.bias());
        linearTask(head, "head", ctx, preLogits, w.head, noResidualHead, logits, noVectorsHead, firstOfHead, n,
                MatMul.BIAS, half);
        head.transferToHost(DataTransferMode.EVERY_EXECUTION, logits, preLogits);
        if (trace && normed != null) {
            head.transferToHost(DataTransferMode.EVERY_EXECUTION, normed);
        }
        graphs.add(head.snapshot());

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
     * Adds a linear-layer task and its grid: y = epilogue(in · Wᵀ + b) over {@code rowCount} rows and the layer-th
     * slice of the weights, the sizes going to the kernel in a shape array ({@link MatMul#shape}); residual is read
     * only by {@link MatMul#RESIDUAL} and {@link MatMul#EMBED} (pass a distinct placeholder otherwise), and the CPU
     * form's y8 written only by {@link MatMul#VECTORS} (which writes y8 instead of y).
     */
    private void linearTask(TaskGraph graph, String name, KernelContext ctx, FloatArray in,
            DeviceWeights.Linear l, FloatArray residual, FloatArray y, VectorFloat8 y8, IntArray layer, int rowCount,
            int epilogue, boolean half) {
        IntArray shape = epilogue == MatMul.EMBED
                ? MatMul.embedShape(rowCount, l.out(), l.in(), key.gridH() * key.gridW(), c.numPrefixTokens())
                : MatMul.shape(rowCount, l.out(), l.in(), epilogue);
        graph.transferToDevice(DataTransferMode.FIRST_EXECUTION, shape);
        if (cpuForms) {
            graph.task(name, MatMul::linearCpu, ctx, in, l.weight().cpu(), l.bias(), residual, y, y8, layer, shape);
        } else if (half) {
            graph.task(name, MatMul::linearHalf, ctx, in, l.weight().f16(), l.bias(), residual, y, layer, shape);
        } else {
            graph.task(name, MatMul::linear, ctx, in, l.weight().f32(), l.bias(), residual, y, layer, shape);
        }
        gridMatMul(graph.getTaskGraphName(), name, rowCount, l.out());
    }

    /** Adds a LayerNorm task over {@code rowCount} rows of the embedding width, x's rows {@code rowStride} apart. */
    private void normTask(TaskGraph graph, String name, KernelContext ctx, FloatArray in, DeviceWeights.Norm norm,
            FloatArray out, IntArray layer, int rowCount, int rowStride, float eps) {
        IntArray shape = Norms.shape(c.embedDim(), rowStride);
        graph.transferToDevice(DataTransferMode.FIRST_EXECUTION, shape)
                .task(name, Norms::layerNorm, ctx, in, norm.weight(), norm.bias(), out, layer, shape, eps);
        gridRows(graph.getTaskGraphName(), name, rowCount);
    }

    private String name(String prefix, String logical) {
        String actual = prefix + logical;
        graphNames.add(actual);
        logicalNames.add(logical);
        return actual;
    }

    private static void checkSize(long n, String what) {
        if (n > Integer.MAX_VALUE - 64) {
            throw new VitException("batch too large for the tornado backend: the " + what + " would need " + n
                    + " floats (at most " + (Integer.MAX_VALUE - 64) + " per buffer); use a smaller batch");
        }
    }

    private void grid1D(String graph, String task, int items, int local) {
        WorkerGrid grid = new WorkerGrid1D(roundUp(Math.max(items, 1), local));
        grid.setLocalWork(local, 1, 1);
        grids.addWorkerGrid(graph + "." + task, grid);
    }

    /** One work-group of {@link Norms#LOCAL} per row. */
    private void gridRows(String graph, String task, int rowCount) {
        WorkerGrid grid = new WorkerGrid1D(rowCount * Norms.LOCAL);
        grid.setLocalWork(Norms.LOCAL, 1, 1);
        grids.addWorkerGrid(graph + "." + task, grid);
    }

    /**
     * Dimension 0 over output features, 1 over rows: in {@link MatMul#TX}×{@link MatMul#TY} work-groups, or for the
     * CPU form {@link MatMul#CPU_LANES} features and {@link MatMul#CPU_ROWS} rows per work-item.
     */
    private void gridMatMul(String graph, String task, int rowCount, int out) {
        WorkerGrid grid;
        if (cpuForms) {
            grid = new WorkerGrid2D(MatMul.cpuGlobalX(out), (rowCount + MatMul.CPU_ROWS - 1) / MatMul.CPU_ROWS);
            grid.setLocalWork(MatMul.CPU_LOCAL, 1, 1);
        } else {
            grid = new WorkerGrid2D(MatMul.globalX(out), MatMul.globalY(rowCount));
            grid.setLocalWork(MatMul.TX, MatMul.TY, 1);
        }
        grids.addWorkerGrid(graph + "." + task, grid);
    }

    private static int roundUp(int n, int multiple) {
        return (n + multiple - 1) / multiple * multiple;
    }

    /**
     * Runs the graphs in order on a batch of this plan's shape, or a smaller batch of its grid (padded).
     *
     * @param profile null, or a list that receives one profile per graph
     * @param trace   receives the intermediates when the plan traces
     */
    Output run(Tensor input, List<DeviceProfile> profile, Trace trace) {
        // a smaller batch runs padded with zero images (their outputs are dropped)
        FloatArrays.copy(input.data(), pixels, input.size());
        for (int i = input.size(); i < pixels.getSize(); i++) {
            pixels.set(i, 0f);
        }
        return runGraphs(profile, trace);
    }

    /**
     * One execution on zero images, its outputs dropped: it moves the weights and launches every kernel once, on the
     * grids of a real call (drivers specialise a kernel's code for its launch: PoCL by work-group size and by whether
     * the grid is under 65535 work-items wide, so a smaller warm-up grid would leave code to generate).
     */
    void warmUp() {
        pixels.init(0f);
        runGraphs(null, null);
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
        // the block graph reuses x and probs for every block, so a traced block is copied before the next runs
        execute(0, profile);
        if (key.trace()) {
            trace.embed(() -> FloatArrays.toHeap(x));
        }
        for (int i = 0; i < c.depth(); i++) {
            layer.set(0, i);
            execute(1, profile);
            if (key.trace()) {
                int d = c.embedDim();
                trace.blockQk(i, () -> Trace.splitHeads(FloatArrays.toHeap(qkvOut), 3 * d, 0, key.batch(), tokens,
                        c.numHeads(), c.headDim()), () -> Trace.splitHeads(FloatArrays.toHeap(qkvOut), 3 * d, d,
                        key.batch(), tokens, c.numHeads(), c.headDim()));
                trace.blockAttn(i, () -> FloatArrays.toHeap(probs));
                trace.blockOut(i, () -> FloatArrays.toHeap(blockOut));
            }
        }
        execute(2, profile);
        if (key.trace() && normed != null) {
            trace.tokensNormed(() -> FloatArrays.toHeap(normed));
        }
        return new Output(FloatArrays.toHeap(logits), FloatArrays.toHeap(preLogits));
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
