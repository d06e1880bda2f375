package dev.vitjava.engine.cpu;

import dev.vitjava.VitException;
import dev.vitjava.engine.EngineOptions;
import dev.vitjava.engine.EngineProvider;
import dev.vitjava.engine.InferenceEngine;
import dev.vitjava.engine.Inputs;
import dev.vitjava.engine.Profile;
import dev.vitjava.engine.Trace;
import dev.vitjava.engine.TraceRequest;
import dev.vitjava.engine.cpu.StageProfiler.Stage;
import dev.vitjava.engine.cpu.platform.CpuFlags;
import dev.vitjava.engine.cpu.platform.WorkerPool;
import dev.vitjava.model.PosEmbed;
import dev.vitjava.model.ViTConfig;
import dev.vitjava.model.ViTModel;
import dev.vitjava.model.ViTWeights;
import dev.vitjava.model.ViTWeights.Block;
import dev.vitjava.model.ViTWeights.Norm;
import dev.vitjava.tensor.Tensor;
import java.nio.FloatBuffer;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import jdk.incubator.vector.FloatVector;

/**
 * The fast CPU backend: the {@link dev.vitjava.engine.ReferenceEngine}'s function in float32 with the Vector API.
 *
 * <ul>
 *   <li>Every linear layer (and the patch-embedding convolution, as a GEMM over im2col rows) is repacked once at
 *       load into k-major panels and multiplied by a register-tiled micro-kernel ({@link Gemm}) whose epilogue
 *       fuses the bias, the exact GELU (fc1) and the residual add (proj, fc2).</li>
 *   <li>Attention is fused per (image, head) ({@link Attention}).</li>
 *   <li>LayerNorm, GELU (float erf, |error| &lt; 1e-7) and exp are vectorised ({@link VectorMath}).</li>
 *   <li>A fixed pool of {@code threads} platform threads ({@link WorkerPool}) is created with the engine and
 *       stopped by {@link #close()}; activations live in buffers reused from call to call.</li>
 * </ul>
 *
 * <p>Each output element is computed by one code path with a fixed summation order, so results are bit-identical
 * from run to run and independent of the thread count (and of the batch an image is in).
 *
 * <p>The engine keeps no reference to the model's weight tensors after construction (only its packed copies), so
 * a caller that drops the {@link ViTModel} lets memory-mapped checkpoints be unmapped.
 */
public final class CpuEngine implements InferenceEngine {

    /** Registers this engine as the {@code cpu} backend. */
    public static final class Provider implements EngineProvider {
        @Override
        public String name() {
            return "cpu";
        }

        @Override
        public Optional<String> unavailableReason() {
            return ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent() ? Optional.empty()
                    : Optional.of("this Java runs without the jdk.incubator.vector module; start it with --add-modules"
                            + " jdk.incubator.vector (the vit launcher does), or use --backend reference");
        }

        @Override
        public String description() {
            if (unavailableReason().isPresent()) {
                return "Java Vector API";
            }
            return "Java Vector API (" + VectorMath.S.vectorBitSize() + "-bit float vectors): packed register-tiled"
                    + " GEMM, fused attention, multi-threaded (--threads)";
        }

        @Override
        public void prepare() {
            Warmup.start();
        }

        @Override
        public InferenceEngine create(ViTModel model, EngineOptions options) {
            return new CpuEngine(model, options);
        }
    }

    private record BlockWeights(float[] norm1W, float[] norm1B, PackedLinear qkv, PackedLinear proj,
            float[] norm2W, float[] norm2B, PackedLinear fc1, PackedLinear fc2) {
    }

    private static final int MR = Gemm.MR;
    private static final int NR = Gemm.NR;
    /** Rows per LayerNorm task. */
    private static final int NORM_ROWS = 8;

    private final ViTConfig c;
    private final int d;
    private final int heads;
    private final int headDim;
    private final int prefix;
    private final int patch;
    private final int chans;
    private final float eps;
    private final PackedLinear patchEmbed;
    private final float[] cls;
    /** A copy of the model's, so that the engine holds no view of a mapped checkpoint. */
    private final PosEmbed posEmbed;
    private final BlockWeights[] blocks;
    private final float[] normW;
    private final float[] normB;
    private final float[] fcNormW;
    private final float[] fcNormB;
    private final PackedLinear head;
    /** All packed weights. */
    private final PackedLinear.Arena packed;
    private final WorkerPool pool;
    private final Attention.Scratch[] scratch;
    private volatile StageProfiler profiler;

    // Activations, (rows rounded up to MR) x (columns rounded up to NR), grown on demand and reused.
    private int capacityRows = -1;
    private int capacityPatchRows = -1;
    private float[] x;
    private float[] h;
    private float[] qkv;
    private float[] attnOut;
    private float[] mlp;
    private float[] patches;
    private float[] pooled;
    private float[] logitsBuf;
    private float[] clsX;
    private float[] clsA;
    private float[] clsM;

    public CpuEngine(ViTModel model, EngineOptions options) {
        this(model, options, true);
    }

    /**
     * With {@code warm}, the engine packs its weights, then waits for the JIT warm-up ({@link Warmup}) before it
     * returns. The warm-up's own tiny engine is built without.
     */
    CpuEngine(ViTModel model, EngineOptions options, boolean warm) {
        this.c = model.config();
        this.d = c.embedDim();
        this.heads = c.numHeads();
        this.headDim = c.headDim();
        this.prefix = c.numPrefixTokens();
        this.patch = c.patchSize();
        this.chans = c.inChans();
        this.eps = (float) c.layerNormEps();
        long t0 = System.nanoTime();
        long t1;
        long released;
        if (warm) {
            Warmup.start(); // a no-op when the caller started it earlier (EngineProvider.prepare)
        }
        this.pool = new WorkerPool(options.threadsOrCores(), "vit-cpu");
        try {
            ViTWeights w = model.weights();
            PackedLinear.Arena arena = new PackedLinear.Arena(packedSize(c));
            this.packed = arena;
            this.patchEmbed = PackedLinear.of(w.patchEmbed().weight(), w.patchEmbed().bias(), d,
                    chans * patch * patch, arena, pool);
            this.cls = w.clsToken() == null ? null : copy(w.clsToken());
            this.posEmbed = new PosEmbed(Tensor.of(copy(w.posEmbed()), c.numTokens(), d), c);
            this.blocks = new BlockWeights[c.depth()];
            for (int i = 0; i < blocks.length; i++) {
                Block b = w.blocks().get(i);
                blocks[i] = new BlockWeights(copy(b.norm1().weight()), copy(b.norm1().bias()),
                        PackedLinear.of(b.qkv(), arena, pool), PackedLinear.of(b.proj(), arena, pool),
                        copy(b.norm2().weight()), copy(b.norm2().bias()),
                        PackedLinear.of(b.fc1(), arena, pool), PackedLinear.of(b.fc2(), arena, pool));
            }
            Norm norm = w.norm();
            this.normW = norm == null ? null : copy(norm.weight());
            this.normB = norm == null ? null : copy(norm.bias());
            Norm fcNorm = w.fcNorm();
            this.fcNormW = fcNorm == null ? null : copy(fcNorm.weight());
            this.fcNormB = fcNorm == null ? null : copy(fcNorm.bias());
            this.head = PackedLinear.of(w.head(), arena, pool);
            released = arena.mapped.released();
            // Packing first: it overlaps the warm-up's compilations instead of waiting for them.
            t1 = System.nanoTime();
            if (warm) {
                Warmup.ensure();
            }
        } catch (RuntimeException | Error e) {
            pool.close();
            throw e;
        }
        if (warm && CpuFlags.DEBUG) {
            System.err.printf("cpu engine: packing %.0f ms, then warm-up wait %.0f ms, released %d MB of mapped"
                    + " weights%n", (t1 - t0) / 1e6, (System.nanoTime() - t1) / 1e6, released >> 20);
        }
        this.scratch = new Attention.Scratch[pool.size()];
        for (int i = 0; i < scratch.length; i++) {
            scratch[i] = new Attention.Scratch();
        }
    }

    /** Floats of all packed layers. */
    private static long packedSize(ViTConfig c) {
        int d = c.embedDim();
        long block = PackedLinear.size(3 * d, d) + PackedLinear.size(d, d) + PackedLinear.size(c.mlpHidden(), d)
                + PackedLinear.size(d, c.mlpHidden());
        return PackedLinear.size(d, c.inChans() * c.patchSize() * c.patchSize()) + c.depth() * block
                + PackedLinear.size(c.numClasses(), d);
    }

    private static float[] copy(Tensor t) {
        float[] out = new float[t.size()];
        t.data().get(0, out, 0, out.length);
        return out;
    }

    @Override
    public String name() {
        return "cpu";
    }

    /** Worker threads (the calling thread included). */
    @Override
    public int threads() {
        return pool.size();
    }

    /** The timed passes with the wall time of each {@link Stage} summed over them. */
    @Override
    public Profile profile(Tensor pixels, int runs) {
        Map<Stage, Long> nanos = new EnumMap<>(Stage.class);
        profiler = (stage, n) -> nanos.merge(stage, n, Long::sum);
        Profile timed;
        try {
            timed = InferenceEngine.super.profile(pixels, runs);
        } finally {
            profiler = null;
        }
        Map<String, Long> stages = new LinkedHashMap<>();
        nanos.forEach((stage, n) -> stages.put(stage.key(), n));
        return timed.with(stages, null);
    }

    @Override
    public void close() {
        pool.close();
    }

    private static int roundUp(int n, int m) {
        return (n + m - 1) / m * m;
    }

    private static long lap(StageProfiler p, Stage stage, long t0) {
        if (p == null) {
            return 0;
        }
        long t1 = System.nanoTime();
        p.record(stage, t1 - t0);
        return t1;
    }

    @Override
    public synchronized Result forward(Tensor pixels, TraceRequest request) {
        int[] grid = Inputs.check(c, pixels, !request.isNone());
        int batch = pixels.dim(0);
        int gh = grid[0];
        int gw = grid[1];
        int g = gh * gw;
        int tokens = prefix + g;
        int rows = batch * tokens;
        int ldD = roundUp(d, NR);
        int ldQ = blocks.length == 0 ? NR : blocks[0].qkv.outPadded;
        int ldH = blocks.length == 0 ? NR : blocks[0].fc1.outPadded;
        ensureCapacity(rows, batch * g, batch, ldD, ldQ, ldH);
        packed.align();
        StageProfiler prof = profiler;
        long t = prof == null ? 0 : System.nanoTime();
        Trace tr = new Trace(request, c, batch, gh, gw);

        // Patch embedding: im2col, one GEMM, then class token and position embedding.
        Tensor posTensor = posEmbed.forGrid(gh, gw);
        float[] pos = posTensor.toArray();
        tr.posEmbed(posTensor);
        im2col(pixels, batch, gh, gw);
        int kp = chans * patch * patch;
        Gemm.multiply(pool, patches, kp, batch * g, patchEmbed, h, ldD, Gemm.STORE);
        float[] xs = x;
        float[] hs = h;
        pool.run(batch, (b, worker) -> {
            for (int i = 0; i < tokens; i++) {
                int dst = (b * tokens + i) * ldD;
                if (i < prefix) {
                    for (int j = 0; j < d; j++) {
                        xs[dst + j] = cls[j] + pos[i * d + j];
                    }
                } else {
                    int src = (b * g + i - prefix) * ldD;
                    for (int j = 0; j < d; j++) {
                        xs[dst + j] = hs[src + j] + pos[i * d + j];
                    }
                }
            }
        });
        tr.embed(() -> compact(x, rows, ldD, d));
        t = lap(prof, Stage.PATCH_EMBED, t);

        // When the trace wants nothing of the last block and the normed tokens, class-token pooling needs only the
        // class token out of the last block: its keys and values need every token, but its query, projection and
        // MLP only the class token's row.
        boolean clsOnly = c.globalPool() == ViTConfig.GlobalPool.TOKEN && blocks.length > 0
                && !tr.wantsBlock(blocks.length - 1) && !tr.wants(Trace.TOKENS_NORMED);
        int fullBlocks = clsOnly ? blocks.length - 1 : blocks.length;
        for (int i = 0; i < fullBlocks; i++) {
            BlockWeights bw = blocks[i];
            t = normQkv(bw, rows, ldD, ldQ, prof, t);
            tr.blockQk(i, () -> Trace.splitHeads(qkv, ldQ, 0, batch, tokens, heads, headDim),
                    () -> Trace.splitHeads(qkv, ldQ, d, batch, tokens, heads, headDim));
            float[] probs = tr.wants(Trace.blockAttn(i)) ? new float[batch * heads * tokens * tokens] : null;
            Attention.run(pool, scratch, qkv, ldQ, attnOut, ldD, batch, tokens, heads, headDim, probs);
            t = lap(prof, Stage.ATTENTION, t);
            t = projMlp(bw, attnOut, x, h, mlp, rows, ldD, ldH, prof, t);
            tr.blockAttn(i, () -> probs);
            tr.blockOut(i, () -> compact(x, rows, ldD, d));
        }

        if (clsOnly) {
            t = lastBlockClassToken(blocks[blocks.length - 1], batch, tokens, rows, ldD, ldQ, ldH, prof, t);
        }

        // Final norm, pooling, head.
        float[] pooledOut = new float[batch * d];
        if (normW != null) {
            if (clsOnly) {
                for (int b = 0; b < batch; b++) {
                    VectorMath.layerNorm(clsX, b * ldD, d, normW, normB, eps, pooled, b * ldD);
                }
            } else {
                layerNorm(x, h, rows, ldD, normW, normB);
                tr.tokensNormed(() -> compact(h, rows, ldD, d));
                pool(h, tokens, batch, ldD);
            }
        } else if (clsOnly) {
            System.arraycopy(clsX, 0, pooled, 0, batch * ldD);
        } else {
            pool(x, tokens, batch, ldD);
        }
        t = lap(prof, Stage.NORM, t);
        for (int b = 0; b < batch; b++) {
            System.arraycopy(pooled, b * ldD, pooledOut, b * d, d);
        }
        int classes = c.numClasses();
        Gemm.multiply(pool, pooled, ldD, batch, head, logitsBuf, head.outPadded, Gemm.STORE);
        float[] logits = compact(logitsBuf, batch, head.outPadded, classes);
        lap(prof, Stage.HEAD, t);
        return tr.result(logits, pooledOut);
    }

    /** The last block for the class tokens only; leaves its output rows in {@link #clsX}. */
    private long lastBlockClassToken(BlockWeights bw, int batch, int tokens, int rows, int ldD, int ldQ, int ldH,
            StageProfiler prof, long t) {
        t = normQkv(bw, rows, ldD, ldQ, prof, t);
        Attention.run(pool, scratch, qkv, ldQ, attnOut, ldD, batch, tokens, 1, heads, headDim, null);
        for (int b = 0; b < batch; b++) {
            System.arraycopy(x, b * tokens * ldD, clsX, b * ldD, ldD);
            System.arraycopy(attnOut, b * tokens * ldD, clsA, b * ldD, ldD);
        }
        t = lap(prof, Stage.ATTENTION, t);
        // clsA holds the attention output until proj has read it, then the normalised rows
        return projMlp(bw, clsA, clsX, clsA, clsM, batch, ldD, ldH, prof, t);
    }

    /** norm1 of the residual stream {@link #x} into {@link #h}, then the qkv projection into {@link #qkv}. */
    private long normQkv(BlockWeights bw, int rows, int ldD, int ldQ, StageProfiler prof, long t) {
        layerNorm(x, h, rows, ldD, bw.norm1W, bw.norm1B);
        t = lap(prof, Stage.NORM, t);
        Gemm.multiply(pool, h, ldD, rows, bw.qkv, qkv, ldQ, Gemm.STORE);
        return lap(prof, Stage.QKV, t);
    }

    /**
     * The rest of a block on {@code rows} rows: resid += proj(attn), then resid += fc2(gelu(fc1(norm2(resid)))), with
     * {@code normed} and {@code hidden} as scratch ({@code normed} may be {@code attn}: proj reads it first).
     */
    private long projMlp(BlockWeights bw, float[] attn, float[] resid, float[] normed, float[] hidden, int rows,
            int ldD, int ldH, StageProfiler prof, long t) {
        Gemm.multiply(pool, attn, ldD, rows, bw.proj, resid, ldD, Gemm.ADD);
        t = lap(prof, Stage.PROJ, t);
        layerNorm(resid, normed, rows, ldD, bw.norm2W, bw.norm2B);
        t = lap(prof, Stage.NORM, t);
        Gemm.multiply(pool, normed, ldD, rows, bw.fc1, hidden, ldH, Gemm.GELU);
        t = lap(prof, Stage.MLP_FC1, t);
        Gemm.multiply(pool, hidden, ldH, rows, bw.fc2, resid, ldD, Gemm.ADD);
        return lap(prof, Stage.MLP_FC2, t);
    }

    /** Pools normalised tokens into {@code pooled}: the class token, or the mean of patch tokens then fc_norm. */
    private void pool(float[] src, int tokens, int batch, int ld) {
        if (c.globalPool() == ViTConfig.GlobalPool.TOKEN) {
            for (int b = 0; b < batch; b++) {
                System.arraycopy(src, b * tokens * ld, pooled, b * ld, d);
            }
            return;
        }
        int n = tokens - prefix;
        int full = d - d % VectorMath.L;
        for (int b = 0; b < batch; b++) {
            int dst = b * ld;
            int j = 0;
            for (; j < full; j += VectorMath.L) {
                FloatVector acc = FloatVector.zero(VectorMath.S);
                for (int r = prefix; r < tokens; r++) {
                    acc = acc.add(FloatVector.fromArray(VectorMath.S, src, (b * tokens + r) * ld + j));
                }
                acc.div(n).intoArray(pooled, dst + j);
            }
            for (; j < d; j++) {
                float s = 0;
                for (int r = prefix; r < tokens; r++) {
                    s += src[(b * tokens + r) * ld + j];
                }
                pooled[dst + j] = s / n;
            }
            if (fcNormW != null) {
                VectorMath.layerNorm(pooled, dst, d, fcNormW, fcNormB, eps, pooled, dst);
            }
        }
    }

    private void layerNorm(float[] src, float[] dst, int rows, int ld, float[] w, float[] b) {
        int tasks = (rows + NORM_ROWS - 1) / NORM_ROWS;
        pool.run(tasks, (task, worker) -> {
            int r1 = Math.min(rows, (task + 1) * NORM_ROWS);
            for (int r = task * NORM_ROWS; r < r1; r++) {
                VectorMath.layerNorm(src, r * ld, d, w, b, eps, dst, r * ld);
            }
        });
    }

    /** Patches as rows (image, patch row, patch column) of (channel, ky, kx), the convolution weight's order. */
    private void im2col(Tensor pixels, int batch, int gh, int gw) {
        FloatBuffer img = pixels.data();
        int height = pixels.dim(2);
        int width = pixels.dim(3);
        int p = patch;
        int kp = chans * p * p;
        float[] out = patches;
        pool.run(batch * gh, (task, worker) -> {
            int b = task / gh;
            int py = task % gh;
            for (int px = 0; px < gw; px++) {
                int dst = (b * gh * gw + py * gw + px) * kp;
                for (int ch = 0; ch < chans; ch++) {
                    for (int ky = 0; ky < p; ky++) {
                        int src = ((b * chans + ch) * height + py * p + ky) * width + px * p;
                        img.get(src, out, dst + (ch * p + ky) * p, p);
                    }
                }
            }
        });
    }

    private void ensureCapacity(int rows, int patchRows, int batch, int ldD, int ldQ, int ldH) {
        // MR spare rows: a tile of MR rows may start at any row (attention's query tiles) and read past the end.
        int r = roundUp(rows, MR) + MR;
        if (r > capacityRows) {
            capacityRows = r;
            x = new float[r * ldD];
            h = new float[r * ldD];
            qkv = new float[r * ldQ];
            attnOut = new float[r * ldD];
            mlp = new float[r * ldH];
        }
        int pr = roundUp(patchRows, MR);
        if (pr > capacityPatchRows) {
            capacityPatchRows = pr;
            patches = new float[pr * chans * patch * patch];
        }
        int br = roundUp(batch, MR) + MR;
        if (pooled == null || pooled.length < br * ldD) {
            pooled = new float[br * ldD];
            logitsBuf = new float[br * head.outPadded];
            clsX = new float[br * ldD];
            clsA = new float[br * ldD];
            clsM = new float[br * ldH];
        }
    }

    private static float[] compact(float[] buf, int rows, int ld, int cols) {
        float[] out = new float[rows * cols];
        for (int r = 0; r < rows; r++) {
            System.arraycopy(buf, r * ld, out, r * cols, cols);
        }
        return out;
    }
}
