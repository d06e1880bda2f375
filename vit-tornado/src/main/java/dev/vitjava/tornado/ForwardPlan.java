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
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;

/**
 * The ViT forward pass for one input shape (batch, patch grid) as TornadoVM task graphs in one execution plan,
 * built and JIT-compiled once and then reused by every call with that shape.
 *
 * <p>The plan has one task graph for the embedding, one per transformer block and one for the head, run in that
 * order. Each graph moves its own weights to the device on the first execution only; the residual stream and
 * the block scratch buffers stay on the device from graph to graph ({@code persistOnDevice} /
 * {@code consumeFromDevice}); only the pixels go in on every call, and only the logits and pre-logits come back
 * (with the intermediates when the plan traces). The grid scheduler beside the graphs gives every task an
 * explicit worker grid.
 *
 * <pre>
 * ═════════════════════════════ graph "embed" ═════════════════════════════
 *   pixels (N,C,H,W) ──copy in, every call
 *      │
 *   ┌────────┐
 *   │ im2col │──▶ patches (N·G, C·p·p)                    G = gh·gw patches
 *   └───┬────┘
 *   ┌───▼────────┐
 *   │ patch_proj │──▶ patch tokens (N·G, D) = patches · Wpeᵀ + b   (tiled matmul)
 *   └───┬────────┘
 *   ┌───▼──────┐
 *   │ assemble │──▶ x (N·T, D) = [cls | patch tokens] + pos        T = prefix + G
 *   └───┬──────┘
 *       │ x persists on the device            (trace: copied out as "embed")
 * ═════════════════════════ graph "block{i}", i = 0 … depth-1 ═════════════════════════
 *       │ x consumed from the previous graph (with h, qkv, attn, x_mid, mlp: block scratch, owned by block0)
 *   ┌───▼───┐
 *   │ norm1 │──▶ h = LayerNorm(x)                            (local-memory row reduction)
 *   └───┬───┘
 *   ┌───▼─┐
 *   │ qkv │──▶ qkv (N·T, 3D) = h · Wqkvᵀ + b                 [q | k | v], head-major
 *   └───┬─┘                                                (trace: one per block, out as "block{i}_q", "_k")
 *   ┌───▼───────┐
 *   │ attention │──▶ attn (N·T, D) = softmax(q kᵀ / √hd) v   per (image, head, query)
 *   └───┬───────┘──▶ probs (N, heads, T, T)                   (trace: copied out as "block{i}_attn")
 *   ┌───▼──┐
 *   │ proj │──▶ x_mid = x + attn · Wprojᵀ + b                 (residual fused)
 *   └───┬──┘
 *   ┌───▼───┐
 *   │ norm2 │──▶ h = LayerNorm(x_mid)
 *   └───┬───┘
 *   ┌───▼─┐
 *   │ fc1 │──▶ mlp (N·T, hidden) = gelu(h · W1ᵀ + b1)        (exact GELU fused)
 *   └───┬─┘
 *   ┌───▼─┐
 *   │ fc2 │──▶ x = x_mid + mlp · W2ᵀ + b2                    (residual fused; trace: a new buffer per
 *   └───┬─┘                                                   block, copied out as "block{i}_out")
 *       │ x to the next graph
 * ═════════════════════════════ graph "head" ═════════════════════════════
 *   ┌──────┐
 *   │ norm │──▶ tokens (N·T, D) = LayerNorm(x)          (if the model has a final norm; trace: "tokens_normed")
 *   └───┬──┘
 *   ┌───▼──┐
 *   │ pool │──▶ pooled (N, D): class token, or mean of the patch tokens
 *   └───┬──┘
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
    private final FloatArray embed;
    private final FloatArray[] qkvs;
    private final FloatArray[] probs;
    private final FloatArray[] blockOut;
    private final FloatArray normed;
    private final FloatArray preLogits;
    private final FloatArray logits;

    /** TornadoVM's graph names (unique per plan) and ours ("embed", "block0", …, "head"), in run order. */
    private final List<String> graphNames = new ArrayList<>();
    private final List<String> logicalNames = new ArrayList<>();
    private final GridScheduler grids = new GridScheduler();
    private final TornadoExecutionPlan plan;
    private final String deviceName;
    final long compileNanos;
    private boolean profilerOn;

    ForwardPlan(ViTModel model, DeviceWeights w, Key key, TornadoDevice device) {
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
        int depth = c.depth();
        int k = channels * p * p;
        this.tokens = prefix + patches;
        this.rows = n * tokens;
        checkSize((long) n * heads * tokens * tokens, "attention probabilities");
        checkSize((long) rows * Math.max(3L * d, hidden), "activations");
        checkSize((long) n * patches * k, "patches");
        checkSize((long) n * channels * height * width, "pixels");
        long maxGroup = TornadoDevices.maxWorkGroup(device);
        if (maxGroup < (long) MatMul.TILE * MatMul.TILE || maxGroup < LOCAL_1D) {
            throw new VitException("TornadoVM device " + TornadoDevices.name(device) + " allows work-groups of "
                    + maxGroup + " work-items; the tornado backend needs " + MatMul.TILE * MatMul.TILE);
        }
        boolean trace = key.trace();
        float eps = (float) c.layerNormEps();
        String prefixName = "vit" + SERIAL.incrementAndGet() + "_";

        pixels = new FloatArray(n * channels * height * width);
        FloatArray patchRows = new FloatArray(n * patches * k);
        FloatArray patchTokens = new FloatArray(n * patches * d);
        FloatArray pos = FloatArrays.of(model.posEmbed(key.gridH(), key.gridW()));
        embed = new FloatArray(rows * d);
        FloatArray h = new FloatArray(rows * d);
        // a tracing plan gives every block its own qkv (copied out as block{i}_q and _k), like its probabilities
        FloatArray qkv = trace ? null : new FloatArray(rows * 3 * d);
        FloatArray attn = new FloatArray(rows * d);
        FloatArray xMid = new FloatArray(rows * d);
        FloatArray mlp = new FloatArray(rows * hidden);
        qkvs = new FloatArray[depth];
        probs = new FloatArray[depth];
        blockOut = new FloatArray[depth];
        FloatArray sharedProbs = trace ? null : new FloatArray(n * heads * tokens * tokens);
        for (int i = 0; i < depth; i++) {
            qkvs[i] = trace ? new FloatArray(rows * 3 * d) : qkv;
            probs[i] = trace ? new FloatArray(n * heads * tokens * tokens) : sharedProbs;
            blockOut[i] = trace ? new FloatArray(rows * d) : embed;
        }
        normed = w.norm != null ? new FloatArray(rows * d) : null;
        FloatArray pooled = new FloatArray(n * d);
        preLogits = w.fcNorm != null ? new FloatArray(n * d) : pooled;
        logits = new FloatArray(n * c.numClasses());
        KernelContext ctx = new KernelContext();
        List<ImmutableTaskGraph> graphs = new ArrayList<>();

        // ---- embed ----
        String g = name(prefixName, "embed");
        TaskGraph embedGraph = new TaskGraph(g)
                .transferToDevice(DataTransferMode.EVERY_EXECUTION, pixels)
                .transferToDevice(DataTransferMode.FIRST_EXECUTION, w.patchEmbed.weight(), w.patchEmbed.bias(),
                        w.clsToken, pos)
                .task("im2col", Embedding::im2col, ctx, pixels, patchRows, n, channels, height, width, p,
                        key.gridW(), patches)
                .task("patch_proj", MatMul::linear, ctx, patchRows, w.patchEmbed.weight(), w.patchEmbed.bias(),
                        patchTokens, n * patches, d, k)
                .task("assemble", Embedding::assemble, ctx, patchTokens, w.clsToken, pos, embed, n, tokens, prefix,
                        d);
        if (trace) {
            embedGraph.transferToHost(DataTransferMode.EVERY_EXECUTION, embed);
        } else {
            embedGraph.persistOnDevice(embed);
        }
        grid1D(g, "im2col", n * patches * k, LOCAL_1D);
        gridMatMul(g, "patch_proj", n * patches, d);
        grid1D(g, "assemble", rows * d, LOCAL_1D);
        graphs.add(embedGraph.snapshot());

        // ---- blocks ----
        String previous = g;
        FloatArray x = embed;
        float scale = (float) (1.0 / Math.sqrt(c.headDim()));
        for (int i = 0; i < depth; i++) {
            DeviceWeights.Block b = w.blocks.get(i);
            g = name(prefixName, "block" + i);
            FloatArray out = blockOut[i];
            TaskGraph block = new TaskGraph(g);
            if (i == 0) {
                block.consumeFromDevice(previous, x);
                // block 0 owns the scratch buffers; later blocks take them over from the block before
                block.transferToDevice(DataTransferMode.FIRST_EXECUTION, h, attn, xMid, mlp);
                if (!trace) {
                    block.transferToDevice(DataTransferMode.FIRST_EXECUTION, qkv, sharedProbs);
                }
            } else if (trace) {
                block.consumeFromDevice(previous, x, h, attn, xMid, mlp);
            } else {
                block.consumeFromDevice(previous, x, h, qkv, attn, xMid, mlp, sharedProbs);
            }
            block.transferToDevice(DataTransferMode.FIRST_EXECUTION, b.norm1().weight(), b.norm1().bias(),
                            b.qkv().weight(), b.qkv().bias(), b.proj().weight(), b.proj().bias(), b.norm2().weight(),
                            b.norm2().bias(), b.fc1().weight(), b.fc1().bias(), b.fc2().weight(), b.fc2().bias())
                    .task("norm1", Norms::layerNorm, ctx, x, b.norm1().weight(), b.norm1().bias(), h, d, eps)
                    .task("qkv", MatMul::linear, ctx, h, b.qkv().weight(), b.qkv().bias(), qkvs[i], rows, 3 * d, d)
                    .task("attention", Attention::attention, ctx, qkvs[i], probs[i], attn, n, tokens, heads,
                            c.headDim(), scale)
                    .task("proj", MatMul::linearResidual, ctx, attn, b.proj().weight(), b.proj().bias(), x, xMid,
                            rows, d, d)
                    .task("norm2", Norms::layerNorm, ctx, xMid, b.norm2().weight(), b.norm2().bias(), h, d, eps)
                    .task("fc1", MatMul::linearGelu, ctx, h, b.fc1().weight(), b.fc1().bias(), mlp, rows, hidden, d)
                    .task("fc2", MatMul::linearResidual, ctx, mlp, b.fc2().weight(), b.fc2().bias(), xMid, out,
                            rows, d, hidden);
            if (trace) {
                block.transferToHost(DataTransferMode.EVERY_EXECUTION, qkvs[i], out, probs[i]);
            }
            gridRows(g, "norm1", rows);
            gridMatMul(g, "qkv", rows, 3 * d);
            grid1D(g, "attention", n * heads * tokens, LOCAL_ATTENTION);
            gridMatMul(g, "proj", rows, d);
            gridRows(g, "norm2", rows);
            gridMatMul(g, "fc1", rows, hidden);
            gridMatMul(g, "fc2", rows, d);
            graphs.add(block.snapshot());
            previous = g;
            x = out;
        }

        // ---- head ----
        g = name(prefixName, "head");
        TaskGraph head = new TaskGraph(g).consumeFromDevice(previous, x);
        FloatArray tokensOut = x;
        if (w.norm != null) {
            head.transferToDevice(DataTransferMode.FIRST_EXECUTION, w.norm.weight(), w.norm.bias())
                    .task("norm", Norms::layerNorm, ctx, x, w.norm.weight(), w.norm.bias(), normed, d, eps);
            gridRows(g, "norm", rows);
            tokensOut = normed;
        }
        head.task("pool", Embedding::pool, ctx, tokensOut, pooled, n, tokens, prefix, d,
                c.globalPool() == ViTConfig.GlobalPool.AVG ? 1 : 0);
        grid1D(g, "pool", n * d, LOCAL_1D);
        if (w.fcNorm != null) {
            head.transferToDevice(DataTransferMode.FIRST_EXECUTION, w.fcNorm.weight(), w.fcNorm.bias())
                    .task("fc_norm", Norms::layerNorm, ctx, pooled, w.fcNorm.weight(), w.fcNorm.bias(), preLogits,
                            d, eps);
            gridRows(g, "fc_norm", n);
        }
        head.transferToDevice(DataTransferMode.FIRST_EXECUTION, w.head.weight(), w.head.bias())
                .task("head", MatMul::linear, ctx, preLogits, w.head.weight(), w.head.bias(), logits, n,
                        c.numClasses(), d)
                .transferToHost(DataTransferMode.EVERY_EXECUTION, logits, preLogits);
        if (trace && normed != null) {
            head.transferToHost(DataTransferMode.EVERY_EXECUTION, normed);
        }
        gridMatMul(g, "head", n, c.numClasses());
        graphs.add(head.snapshot());

        plan = new TornadoExecutionPlan(graphs.toArray(new ImmutableTaskGraph[0]));
        plan.withDevice(device).withGridScheduler(grids);
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

    /** Dimension 0 over output features, 1 over rows, in {@link MatMul#TILE}-square work-groups. */
    private void gridMatMul(String graph, String task, int rowCount, int out) {
        WorkerGrid grid = new WorkerGrid2D(MatMul.globalSize(out), MatMul.globalSize(rowCount));
        grid.setLocalWork(MatMul.TILE, MatMul.TILE, 1);
        grids.addWorkerGrid(graph + "." + task, grid);
    }

    private static int roundUp(int n, int multiple) {
        return (n + multiple - 1) / multiple * multiple;
    }

    /**
     * Runs the graphs in order on a batch of this plan's shape.
     *
     * @param profile null, or a list that receives one profile per graph
     * @param trace   receives the intermediates when the plan traces
     */
    Output run(Tensor input, List<DeviceProfile> profile, Trace trace) {
        FloatArrays.copy(input.data(), pixels, pixels.getSize());
        boolean wantProfile = profile != null;
        if (wantProfile != profilerOn) {
            if (wantProfile) {
                plan.withProfiler(ProfilerMode.SILENT);
            } else {
                plan.withoutProfiler();
            }
            profilerOn = wantProfile;
        }
        for (int i = 0; i < graphNames.size(); i++) {
            TornadoExecutionResult result = plan.withGraph(i).execute();
            if (wantProfile) {
                profile.add(graphProfile(i, result.getProfilerResult()));
            }
        }
        if (key.trace()) {
            trace.embed(() -> FloatArrays.toHeap(embed));
            int d = c.embedDim();
            for (int i = 0; i < c.depth(); i++) {
                FloatArray qkv = qkvs[i];
                FloatArray p = probs[i];
                FloatArray o = blockOut[i];
                trace.blockQk(i, () -> Trace.splitHeads(FloatArrays.toHeap(qkv), 3 * d, 0, key.batch(), tokens,
                        c.numHeads(), c.headDim()), () -> Trace.splitHeads(FloatArrays.toHeap(qkv), 3 * d, d,
                        key.batch(), tokens, c.numHeads(), c.headDim()));
                trace.blockAttn(i, () -> FloatArrays.toHeap(p));
                trace.blockOut(i, () -> FloatArrays.toHeap(o));
            }
            if (normed != null) {
                trace.tokensNormed(() -> FloatArrays.toHeap(normed));
            }
        }
        return new Output(FloatArrays.toHeap(logits), FloatArrays.toHeap(preLogits));
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

    private static final List<String> TASK_ORDER = List.of("im2col", "patch_proj", "assemble", "norm1", "qkv",
            "attention", "proj", "norm2", "fc1", "fc2", "norm", "pool", "fc_norm", "head");

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
