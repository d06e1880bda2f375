package dev.vitjava.engine.cpu;

import dev.vitjava.engine.cpu.platform.WorkerPool;
import dev.vitjava.VitException;
import dev.vitjava.engine.EngineOptions;
import dev.vitjava.tensor.Tensor;
import dev.vitjava.model.ViTConfig;
import dev.vitjava.model.ViTModel;
import dev.vitjava.train.Layers;
import dev.vitjava.train.Param;
import dev.vitjava.train.Regularization;
import dev.vitjava.train.Regularization.Site;
import dev.vitjava.train.TrainingEngine;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Training on the cpu backend: {@link dev.vitjava.train.ReferenceTraining}'s function in float32 on the forward
 * engine's kernels and thread pool. Every product is {@link Gemm}'s register-tiled kernel: the forward
 * {@code x Wᵀ} on the packed weight, the input gradient {@code dy W} on the packed transpose, the weight gradient
 * {@code dyᵀ x} with the activations packed as the "weight"; attention runs forward as {@link Attention} (keeping
 * the probabilities) and backward per (image, head) as four small products on the same kernel
 * ({@link BackwardMath#attention}).
 *
 * <p>Only the trainable blocks keep activations (their input, qkv, attention probabilities and output, the
 * residual stream between the branches, and the MLP's pre-activation and activation); the frozen blocks run
 * forward into scratch buffers. Parameters live in {@link Param.F32} arrays; after an optimizer step the trainable
 * layers are repacked ({@link #parametersChanged}), which costs one pass over their weights.
 */
public final class CpuTraining implements TrainingEngine {

    private static final int MR = Gemm.MR;
    private static final int NR = Gemm.NR;
    /** Rows per task of the row-wise kernels; fixed, so reductions over tasks have a fixed order. */
    private static final int ROWS = 32;

    private final ViTConfig c;
    private final int d;
    private final int heads;
    private final int hd;
    private final int hidden;
    private final int tokens;
    private final int prefix;
    private final int grid;
    private final int classes;
    private final int kp;
    private final int depth;
    private final int ldD;
    private final int ldQ;
    private final int ldH;
    private final int ldC;
    private final float eps;
    private final WorkerPool pool;
    private final Attention.Scratch[] scratch;
    private final BackwardMath.AttentionScratch[] attentionScratch;
    private final Map<String, Param.F32> params = new LinkedHashMap<>();
    private final Layer patch;
    private final Layer head;
    private final Layer[][] layers;
    private final Map<Long, PackedLinear> activationPacks = new HashMap<>();
    private int frozen;

    // Activations for the current batch size; rows = batch * tokens.
    private int capBatch;
    private float[] x;
    private float[] h;
    private float[] qkvTmp;
    private float[] probsTmp;
    private float[] attnTmp;
    private float[] mlpTmp;
    private float[] tmpD;
    private float[] dx;
    private float[] dTmp;
    private float[] dTmp2;
    // The last block's class rows (clsOnly): residual stream, attention output and their gradients.
    private final boolean clsPooling;
    private boolean clsOnly;
    private float[] clsX;
    private float[] clsA;
    private float[] dCls;
    private float[] dClsA;
    private float[] dQkv;
    private float[] dMlp;
    private float[] patches;
    private float[] pooledIn;
    private float[] pooled;
    private float[] dPooled;
    private float[] logitsBuf;
    private float[] dLogits;
    private float[] dyT = new float[0];
    private float[] dW = new float[0];
    private Saved[] saved;

    /** A block's activations kept for its backward pass. */
    private static final class Saved {
        float[] xIn;
        float[] qkv;
        float[] probs;
        float[] attn;
        float[] xMid;
        float[] pre;
        float[] act;
    }

    public CpuTraining(ViTModel model, EngineOptions options) {
        this.c = model.config();
        this.d = c.embedDim();
        this.heads = c.numHeads();
        this.hd = c.headDim();
        this.hidden = c.mlpHidden();
        this.tokens = c.numTokens();
        this.prefix = c.numPrefixTokens();
        this.grid = c.gridHeight() * c.gridWidth();
        this.classes = c.numClasses();
        this.kp = c.inChans() * c.patchSize() * c.patchSize();
        this.depth = c.depth();
        this.ldD = roundUp(d, NR);
        this.ldQ = roundUp(3 * d, NR);
        this.ldH = roundUp(hidden, NR);
        this.ldC = roundUp(classes, NR);
        this.eps = (float) c.layerNormEps();
        this.clsPooling = c.globalPool() == ViTConfig.GlobalPool.TOKEN && c.classToken();
        Warmup.start(); // the inference engine's JIT warm-up: the first steps run compiled kernels
        model.weights().toTimmStateDict().forEach((name, t) -> {
            float[] v = new float[t.size()];
            t.data().get(0, v, 0, v.length);
            params.put(name, new Param.F32(name, t.shape(), v));
        });
        this.pool = new WorkerPool(options.threadsOrCores(), "vit-train");
        this.scratch = new Attention.Scratch[pool.size()];
        this.attentionScratch = new BackwardMath.AttentionScratch[pool.size()];
        for (int i = 0; i < scratch.length; i++) {
            scratch[i] = new Attention.Scratch();
            attentionScratch[i] = new BackwardMath.AttentionScratch();
        }
        this.patch = new Layer("patch_embed.proj", d, kp);
        this.head = new Layer("head", classes, d);
        this.layers = new Layer[depth][];
        for (int i = 0; i < depth; i++) {
            String b = "blocks." + i + ".";
            layers[i] = new Layer[] {new Layer(b + "attn.qkv", 3 * d, d), new Layer(b + "attn.proj", d, d),
                new Layer(b + "mlp.fc1", hidden, d), new Layer(b + "mlp.fc2", d, hidden)};
        }
        Warmup.ensure();
    }

    private static int roundUp(int n, int m) {
        return (n + m - 1) / m * m;
    }

    @Override
    public String name() {
        return "cpu";
    }

    @Override
    public ViTConfig config() {
        return c;
    }

    @Override
    public List<Param> parameters() {
        return new ArrayList<>(params.values());
    }

    @Override
    public void freeze(int k) {
        this.frozen = k;
        saved = null;
    }

    @Override
    public int frozenBlocks() {
        return frozen;
    }

    @Override
    public void parametersChanged() {
        patch.repack();
        head.repack();
        for (Layer[] ls : layers) {
            for (Layer l : ls) {
                l.repack();
            }
        }
    }

    @Override
    public void close() {
        pool.close();
    }

    private float[] p(String name) {
        Param.F32 p = params.get(name);
        return p == null ? null : p.value;
    }

    /** The gradient array of a trainable parameter, or null when frozen or absent. */
    private float[] g(String name) {
        Param.F32 p = params.get(name);
        return p == null || TrainingEngine.isFrozen(name, frozen) ? null : p.grad;
    }

    /** A linear layer: its parameters and their packed forms. */
    private final class Layer {
        final Param.F32 w;
        final Param.F32 b;
        final int out;
        final int in;
        final PackedLinear forward;
        /** Wᵀ for the input gradient, made when first needed. */
        PackedLinear transposed;
        /** Whether {@link #forward} holds the weights (a frozen layer is packed once). */
        boolean packed;

        Layer(String name, int out, int in) {
            this.w = params.get(name + ".weight");
            this.b = params.get(name + ".bias");
            this.out = out;
            this.in = in;
            this.forward = PackedLinear.empty(out, in);
            repack();
        }

        boolean trainable() {
            return !TrainingEngine.isFrozen(w.name(), frozen);
        }

        void repack() {
            if (packed && !trainable()) {
                return; // frozen: its values have not changed
            }
            packed = true;
            forward.pack(FloatBuffer.wrap(w.value), b == null ? null : FloatBuffer.wrap(b.value), pool);
            if (transposed != null) {
                transposed.packColumns(w.value, in, pool);
            }
        }

        void forward(float[] a, int lda, int rows, float[] y, int ldy, int mode) {
            Gemm.multiply(pool, a, lda, rows, forward, y, ldy, mode);
        }

        /** dx = dy W (or dx += dy W with mode ADD). */
        void backwardInput(float[] dy, int ldy, int rows, float[] dxOut, int ldx, int mode) {
            if (transposed == null) {
                transposed = PackedLinear.empty(in, out);
                transposed.packColumns(w.value, in, pool);
            }
            Gemm.multiply(pool, dy, ldy, rows, transposed, dxOut, ldx, mode);
        }

        /** dW = dyᵀ a and db = Σ_rows dy, into the parameters' gradients. */
        void backwardParams(float[] a, int lda, float[] dy, int ldy, int rows) {
            int outRows = roundUp(out, MR);
            if (dyT.length < outRows * rows) {
                dyT = new float[outRows * rows];
            }
            BackwardMath.transpose(pool, dy, ldy, rows, out, dyT, rows);
            PackedLinear packedA = activationPacks.computeIfAbsent(((long) in << 32) | rows,
                    k -> PackedLinear.empty(in, rows));
            packedA.packColumns(a, lda, pool);
            int ldw = packedA.outPadded;
            if (dW.length < outRows * ldw) {
                dW = new float[outRows * ldw];
            }
            Gemm.multiply(pool, dyT, rows, out, packedA, dW, ldw, Gemm.STORE);
            for (int o = 0; o < out; o++) {
                System.arraycopy(dW, o * ldw, w.grad, o * in, in);
            }
            if (b != null) {
                BackwardMath.columnSums(pool, dy, ldy, rows, out, b.grad);
            }
        }
    }

    private void ensure(int batch) {
        if (batch <= capBatch && saved != null) {
            return;
        }
        int cap = Math.max(batch, capBatch);
        capBatch = cap;
        int r = roundUp(cap * tokens, MR) + MR;
        x = new float[r * ldD];
        h = new float[r * ldD];
        qkvTmp = new float[r * ldQ];
        probsTmp = new float[cap * heads * tokens * tokens];
        attnTmp = new float[r * ldD];
        mlpTmp = new float[r * ldH];
        tmpD = new float[r * ldD];
        dx = new float[r * ldD];
        dTmp = new float[r * ldD];
        dTmp2 = new float[r * ldD];
        dQkv = new float[r * ldQ];
        dMlp = new float[r * ldH];
        patches = new float[(roundUp(cap * grid, MR) + MR) * kp];
        int br = roundUp(cap, MR) + MR;
        clsX = new float[br * ldD];
        clsA = new float[br * ldD];
        dCls = new float[br * ldD];
        dClsA = new float[br * ldD];
        pooledIn = new float[br * ldD];
        pooled = new float[br * ldD];
        dPooled = new float[br * ldD];
        logitsBuf = new float[br * ldC];
        dLogits = new float[br * ldC];
        saved = new Saved[depth];
        for (int i = frozen; i < depth; i++) {
            Saved s = new Saved();
            s.xIn = new float[r * ldD];
            s.qkv = new float[r * ldQ];
            s.probs = new float[cap * heads * tokens * tokens];
            s.attn = new float[r * ldD];
            s.xMid = new float[r * ldD];
            s.pre = new float[r * ldH];
            s.act = new float[r * ldH];
            saved[i] = s;
        }
    }

    // ---- forward ----

    @Override
    public StepResult step(Input input, int[] labels, double labelSmoothing, Regularization reg, long step) {
        int batch = input.batch();
        ensure(batch);
        int first = forwardTrunk(input, reg, step, true);
        float[] logits = head(batch);
        double[] dl = new double[batch * classes];
        double[] ld = new double[batch * classes];
        for (int i = 0; i < ld.length; i++) {
            ld[i] = logits[i];
        }
        double loss = Layers.crossEntropy(ld, labels, classes, labelSmoothing, dl);
        Arrays.fill(dLogits, 0f);
        for (int n = 0; n < batch; n++) {
            for (int j = 0; j < classes; j++) {
                dLogits[n * ldC + j] = (float) dl[n * classes + j];
            }
        }
        backward(batch, first, reg, step);
        return new StepResult(loss, logits);
    }

    @Override
    public float[] logits(Input input) {
        ensure(input.batch());
        forwardTrunk(input, Regularization.NONE, 0, false);
        return head(input.batch());
    }

    @Override
    public float[] features(Tensor pixels) {
        int batch = pixels.dim(0);
        ensure(batch);
        embed(pixels, Regularization.NONE, 0);
        for (int i = 0; i < frozen; i++) {
            block(i, batch, Regularization.NONE, 0, null);
        }
        return compact(x, batch * tokens, ldD, d);
    }

    /** The embedding (unless features are given) and the blocks; returns the first block run. */
    private int forwardTrunk(Input input, Regularization reg, long step, boolean train) {
        int batch = input.batch();
        int first;
        if (input.features() != null) {
            first = frozen;
            float[] f = input.features();
            for (int r = 0; r < batch * tokens; r++) {
                System.arraycopy(f, r * d, x, r * ldD, d);
            }
        } else {
            first = 0;
            embed(input.pixels(), reg, step);
        }
        // With class-token pooling the last block's projection and MLP matter only for the class tokens (its keys
        // and values need every token): they run on the batch's class rows, in clsX.
        clsOnly = clsPooling && first < depth;
        int full = clsOnly ? depth - 1 : depth;
        for (int i = first; i < full; i++) {
            block(i, batch, reg, step, train && i >= frozen ? saved[i] : null);
        }
        if (clsOnly) {
            lastBlock(batch, reg, step, train && depth - 1 >= frozen ? saved[depth - 1] : null);
        }
        return first;
    }

    private void embed(Tensor pixels, Regularization reg, long step) {
        if (pixels.dim(1) != c.inChans() || pixels.dim(2) != c.imgHeight() || pixels.dim(3) != c.imgWidth()) {
            throw new VitException("training needs input " + c.inChans() + "x" + c.imgHeight() + "x" + c.imgWidth()
                    + ", got " + pixels.shapeString());
        }
        int batch = pixels.dim(0);
        im2col(pixels, batch);
        patch.forward(patches, kp, batch * grid, h, ldD, Gemm.STORE);
        float[] pos = p("pos_embed");
        float[] cls = p("cls_token");
        float[] xs = x;
        float[] hs = h;
        boolean drop = reg.rate(Site.POS, 0, depth) > 0;
        pool.run(batch, (b, worker) -> {
            for (int i = 0; i < tokens; i++) {
                int dst = (b * tokens + i) * ldD;
                int src = (b * grid + i - prefix) * ldD;
                for (int j = 0; j < d; j++) {
                    float v = (i < prefix ? cls[j] : hs[src + j]) + pos[i * d + j];
                    xs[dst + j] = drop ? v * reg.scale(step, Site.POS, 0, depth, (long) (b * tokens + i) * d + j) : v;
                }
            }
        });
    }

    /** Patches as rows (image, patch row, patch column) of (channel, ky, kx), the convolution weight's order. */
    private void im2col(Tensor pixels, int batch) {
        FloatBuffer img = pixels.data();
        int p = c.patchSize();
        int gh = c.gridHeight();
        int gw = c.gridWidth();
        int height = c.imgHeight();
        int width = c.imgWidth();
        int chans = c.inChans();
        float[] out = patches;
        pool.run(batch * gh, (task, worker) -> {
            int b = task / gh;
            int py = task % gh;
            for (int px = 0; px < gw; px++) {
                int dst = (b * grid + py * gw + px) * kp;
                for (int ch = 0; ch < chans; ch++) {
                    for (int ky = 0; ky < p; ky++) {
                        int src = ((b * chans + ch) * height + py * p + ky) * width + px * p;
                        img.get(src, out, dst + (ch * p + ky) * p, p);
                    }
                }
            }
        });
    }

    /** Block i on the residual stream {@link #x}; {@code s} receives the activations (null: not kept). */
    private void block(int i, int batch, Regularization reg, long step, Saved s) {
        int rows = batch * tokens;
        float[] attn = s != null ? s.attn : attnTmp;
        attention(i, batch, tokens, reg, step, s, attn);
        residual(i, rows, 1, x, attn, reg, step, s);
    }

    /** The last block with the projection and MLP on the class rows only, into {@link #clsX}. */
    private void lastBlock(int batch, Regularization reg, long step, Saved s) {
        int i = depth - 1;
        attention(i, batch, 1, reg, step, s, attnTmp);
        float[] a = s != null ? s.attn : clsA;
        for (int n = 0; n < batch; n++) {
            System.arraycopy(x, n * tokens * ldD, clsX, n * ldD, ldD);
            System.arraycopy(attnTmp, n * tokens * ldD, a, n * ldD, ldD);
        }
        residual(i, batch, tokens, clsX, a, reg, step, s);
    }

    /** norm1, qkv and attention of block i for the first {@code queries} queries of each image, into attn. */
    private void attention(int i, int batch, int queries, Regularization reg, long step, Saved s, float[] attn) {
        String b = "blocks." + i + ".";
        int rows = batch * tokens;
        if (s != null) {
            System.arraycopy(x, 0, s.xIn, 0, rows * ldD);
        }
        layerNorm(x, h, rows, p(b + "norm1.weight"), p(b + "norm1.bias"));
        float[] qkv = s != null ? s.qkv : qkvTmp;
        layers[i][0].forward(h, ldD, rows, qkv, ldQ, Gemm.STORE);
        boolean attnDrop = reg.rate(Site.ATTN, i, depth) > 0;
        float[] probs = s != null ? s.probs : attnDrop ? probsTmp : null;
        Attention.run(pool, scratch, qkv, ldQ, attn, ldD, batch, tokens, queries, heads, hd, probs);
        if (attnDrop) {
            float[][] tmp = new float[pool.size()][hd];
            pool.run(batch * heads, (task, worker) -> {
                int n = task / heads;
                int hh = task % heads;
                BackwardMath.maskedValues(qkv, ldQ, n * tokens, 2 * d + hh * hd, probs,
                        (n * heads + hh) * tokens * tokens, attnMask(reg, step, i, n, hh), queries, tokens, hd, attn,
                        ldD, hh * hd, tmp[worker]);
            });
        }
    }

    /**
     * The rest of block i on {@code rows} rows of {@code resid} (row r is token row r·stride of the batch):
     * resid += proj(attn), then resid += fc2(gelu(fc1(norm2(resid)))), with their dropout and drop path.
     */
    private void residual(int i, int rows, int stride, float[] resid, float[] attn, Regularization reg, long step,
            Saved s) {
        String b = "blocks." + i + ".";
        Layer[] ls = layers[i];
        branch(ls[1], attn, ldD, rows, stride, resid, reg, step, i, Site.PROJ, Site.PATH1);
        if (s != null) {
            System.arraycopy(resid, 0, s.xMid, 0, rows * ldD);
        }
        layerNorm(resid, h, rows, p(b + "norm2.weight"), p(b + "norm2.bias"));
        float[] act = s != null ? s.act : mlpTmp;
        if (s != null) {
            ls[2].forward(h, ldD, rows, s.pre, ldH, Gemm.STORE);
            float[] pre = s.pre;
            pool.run(tasks(rows), (task, worker) -> {
                int r0 = task * ROWS;
                int r1 = Math.min(rows, r0 + ROWS);
                for (int r = r0; r < r1; r++) {
                    for (int j = 0; j < ldH; j += VectorMath.L) {
                        VectorMath.gelu(jdk.incubator.vector.FloatVector.fromArray(VectorMath.S, pre, r * ldH + j))
                                .intoArray(act, r * ldH + j);
                    }
                }
            });
        } else {
            ls[2].forward(h, ldD, rows, act, ldH, Gemm.GELU);
        }
        if (reg.rate(Site.MLP1, i, depth) > 0) {
            scaleByMask(act, ldH, rows, stride, hidden, reg, step, Site.MLP1, null, i);
        }
        branch(ls[3], act, ldH, rows, stride, resid, reg, step, i, Site.MLP2, Site.PATH2);
    }

    /** resid += drop_path(drop(layer(a))): fused into the product's epilogue when nothing drops. */
    private void branch(Layer layer, float[] a, int lda, int rows, int stride, float[] resid, Regularization reg,
            long step, int block, Site drop, Site path) {
        if (reg.rate(drop, block, depth) == 0 && reg.rate(path, block, depth) == 0) {
            layer.forward(a, lda, rows, resid, ldD, Gemm.ADD);
            return;
        }
        layer.forward(a, lda, rows, tmpD, ldD, Gemm.STORE);
        scaleByMask(tmpD, ldD, rows, stride, d, reg, step, drop, path, block);
        float[] t = tmpD;
        pool.run(tasks(rows), (task, worker) -> {
            int r1 = Math.min(rows, (task + 1) * ROWS);
            for (int k = task * ROWS * ldD; k < r1 * ldD; k++) {
                resid[k] += t[k];
            }
        });
    }

    /**
     * m[r][j] *= dropout factor of (site, t · cols + j) times the drop-path factor of t's image, where t = r · stride
     * is the row's token row in the batch.
     */
    private void scaleByMask(float[] m, int ld, int rows, int stride, int cols, Regularization reg, long step,
            Site drop, Site path, int block) {
        boolean hasDrop = drop != null && reg.rate(drop, block, depth) > 0;
        boolean hasPath = path != null && reg.rate(path, block, depth) > 0;
        pool.run(tasks(rows), (task, worker) -> {
            int r1 = Math.min(rows, (task + 1) * ROWS);
            for (int r = task * ROWS; r < r1; r++) {
                long t = (long) r * stride;
                float f = hasPath ? reg.scale(step, path, block, depth, t / tokens) : 1f;
                for (int j = 0; j < cols; j++) {
                    float k = hasDrop ? reg.scale(step, drop, block, depth, t * cols + j) : 1f;
                    m[r * ld + j] *= f * k;
                }
            }
        });
    }

    private BackwardMath.Mask attnMask(Regularization reg, long step, int block, int image, int head) {
        long base = ((long) image * heads + head) * tokens * tokens;
        return idx -> reg.scale(step, Site.ATTN, block, depth, base + idx);
    }

    private static int tasks(int rows) {
        return (rows + ROWS - 1) / ROWS;
    }

    private void layerNorm(float[] src, float[] dst, int rows, float[] w, float[] b) {
        pool.run(tasks(rows), (task, worker) -> {
            int r1 = Math.min(rows, (task + 1) * ROWS);
            for (int r = task * ROWS; r < r1; r++) {
                VectorMath.layerNorm(src, r * ldD, d, w, b, eps, dst, r * ldD);
            }
        });
    }

    /** Final norm, pooling, fc_norm and head on {@link #x}; returns the logits (batch, classes). */
    private float[] head(int batch) {
        boolean token = c.globalPool() == ViTConfig.GlobalPool.TOKEN;
        float[] nw = p("norm.weight");
        if (token) {
            for (int n = 0; n < batch; n++) {
                if (clsOnly) {
                    System.arraycopy(clsX, n * ldD, pooledIn, n * ldD, ldD);
                } else {
                    System.arraycopy(x, n * tokens * ldD, pooledIn, n * ldD, ldD);
                }
                if (nw != null) {
                    VectorMath.layerNorm(pooledIn, n * ldD, d, nw, p("norm.bias"), eps, pooled, n * ldD);
                } else {
                    System.arraycopy(pooledIn, n * ldD, pooled, n * ldD, ldD);
                }
            }
        } else {
            int rows = batch * tokens;
            float[] t = x;
            if (nw != null) {
                layerNorm(x, h, rows, nw, p("norm.bias"));
                t = h;
            }
            Arrays.fill(pooledIn, 0f);
            for (int n = 0; n < batch; n++) {
                for (int r = prefix; r < tokens; r++) {
                    for (int j = 0; j < d; j++) {
                        pooledIn[n * ldD + j] += t[(n * tokens + r) * ldD + j];
                    }
                }
                for (int j = 0; j < d; j++) {
                    pooledIn[n * ldD + j] /= tokens - prefix;
                }
                if (p("fc_norm.weight") != null) {
                    VectorMath.layerNorm(pooledIn, n * ldD, d, p("fc_norm.weight"), p("fc_norm.bias"), eps, pooled,
                            n * ldD);
                } else {
                    System.arraycopy(pooledIn, n * ldD, pooled, n * ldD, ldD);
                }
            }
        }
        head.forward(pooled, ldD, batch, logitsBuf, ldC, Gemm.STORE);
        return compact(logitsBuf, batch, ldC, classes);
    }

    // ---- backward ----

    private void backward(int batch, int first, Regularization reg, long step) {
        int rows = batch * tokens;
        head.backwardParams(pooled, ldD, dLogits, ldC, batch);
        head.backwardInput(dLogits, ldC, batch, dPooled, ldD, Gemm.STORE);
        Arrays.fill(dx, 0, rows * ldD, 0f);
        float[] nw = p("norm.weight");
        if (c.globalPool() == ViTConfig.GlobalPool.TOKEN) {
            float[] gw = g("norm.weight");
            float[] gb = g("norm.bias");
            if (gw != null) {
                Arrays.fill(gw, 0f);
                Arrays.fill(gb, 0f);
            }
            float[] dst = clsOnly ? dCls : dx;
            int ld = clsOnly ? ldD : tokens * ldD;
            if (clsOnly) {
                Arrays.fill(dCls, 0f);
            }
            for (int n = 0; n < batch; n++) {
                if (nw != null) {
                    BackwardMath.layerNorm(pooledIn, n * ldD, dPooled, n * ldD, d, nw, eps, dst, n * ld, false, gw,
                            gb);
                } else {
                    System.arraycopy(dPooled, n * ldD, dst, n * ld, d);
                }
            }
        } else {
            float[] fw = p("fc_norm.weight");
            Arrays.fill(dTmp, 0, rows * ldD, 0f); // the class rows get no gradient from the mean
            for (int n = 0; n < batch; n++) {
                if (fw != null) {
                    float[] gw = g("fc_norm.weight");
                    if (n == 0) {
                        Arrays.fill(gw, 0f);
                        Arrays.fill(g("fc_norm.bias"), 0f);
                    }
                    BackwardMath.layerNorm(pooledIn, n * ldD, dPooled, n * ldD, d, fw, eps, tmpD, n * ldD, false,
                            gw, g("fc_norm.bias"));
                } else {
                    System.arraycopy(dPooled, n * ldD, tmpD, n * ldD, d);
                }
                for (int r = prefix; r < tokens; r++) {
                    for (int j = 0; j < d; j++) {
                        dTmp[(n * tokens + r) * ldD + j] = tmpD[n * ldD + j] / (tokens - prefix);
                    }
                }
            }
            if (nw != null) {
                layerNormBackward(x, dTmp, rows, nw, dx, false, "norm");
            } else {
                System.arraycopy(dTmp, 0, dx, 0, rows * ldD);
            }
        }
        int stop = Math.max(first, frozen);
        for (int i = depth - 1; i >= stop; i--) {
            if (clsOnly && i == depth - 1) {
                lastBlockBackward(batch, reg, step);
            } else {
                blockBackward(i, batch, reg, step);
            }
        }
        if (stop == 0) {
            embedBackward(batch, reg, step);
        }
    }

    /** dx (the gradient of block i's output) becomes the gradient of its input. */
    private void blockBackward(int i, int batch, Regularization reg, long step) {
        int rows = batch * tokens;
        residualBackward(i, rows, 1, dx, dTmp, reg, step);
        attentionBackward(i, batch, reg, step);
    }

    /**
     * The last block from the class rows' gradient in {@link #dCls}: their projection and MLP backward on the class
     * rows, then attention backward for all tokens, leaving the gradient of the block's input in {@link #dx}.
     */
    private void lastBlockBackward(int batch, Regularization reg, long step) {
        int i = depth - 1;
        int rows = batch * tokens;
        residualBackward(i, batch, tokens, dCls, dClsA, reg, step);
        Arrays.fill(dx, 0, rows * ldD, 0f);
        Arrays.fill(dTmp, 0, rows * ldD, 0f);
        for (int n = 0; n < batch; n++) {
            System.arraycopy(dCls, n * ldD, dx, n * tokens * ldD, ldD);
            System.arraycopy(dClsA, n * ldD, dTmp, n * tokens * ldD, ldD);
        }
        attentionBackward(i, batch, reg, step);
    }

    /**
     * Backward of {@link #residual} on {@code rows} rows: {@code dRes} (the gradient of the block's output there)
     * becomes the gradient of the residual stream between the branches; the gradient of the attention output goes to
     * {@code dAttn}.
     */
    private void residualBackward(int i, int rows, int stride, float[] dRes, float[] dAttn, Regularization reg,
            long step) {
        String b = "blocks." + i + ".";
        Layer[] ls = layers[i];
        Saved s = saved[i];
        float[] dm = maskedGrad(dRes, rows, stride, reg, step, i, Site.MLP2, Site.PATH2);
        ls[3].backwardParams(s.act, ldH, dm, ldD, rows);
        ls[3].backwardInput(dm, ldD, rows, dMlp, ldH, Gemm.STORE);
        if (reg.rate(Site.MLP1, i, depth) > 0) {
            scaleByMask(dMlp, ldH, rows, stride, hidden, reg, step, Site.MLP1, null, i);
        }
        float[] pre = s.pre;
        pool.run(tasks(rows), (task, worker) -> {
            int r0 = task * ROWS;
            int r1 = Math.min(rows, r0 + ROWS);
            BackwardMath.geluBackward(pre, dMlp, r0 * ldH, (r1 - r0) * ldH);
        });
        layerNorm(s.xMid, h, rows, p(b + "norm2.weight"), p(b + "norm2.bias"));
        ls[2].backwardParams(h, ldD, dMlp, ldH, rows);
        ls[2].backwardInput(dMlp, ldH, rows, dTmp2, ldD, Gemm.STORE);
        layerNormBackward(s.xMid, dTmp2, rows, p(b + "norm2.weight"), dRes, true, b + "norm2");
        float[] dp = maskedGrad(dRes, rows, stride, reg, step, i, Site.PROJ, Site.PATH1);
        ls[1].backwardParams(s.attn, ldD, dp, ldD, rows);
        ls[1].backwardInput(dp, ldD, rows, dAttn, ldD, Gemm.STORE);
    }

    /** Attention backward of block i from the attention output's gradient in {@link #dTmp}; adds into dx. */
    private void attentionBackward(int i, int batch, Regularization reg, long step) {
        String b = "blocks." + i + ".";
        Saved s = saved[i];
        int rows = batch * tokens;
        boolean attnDrop = reg.rate(Site.ATTN, i, depth) > 0;
        float scale = (float) (1.0 / Math.sqrt(hd));
        float[] dAttn = dTmp;
        pool.run(batch * heads, (task, worker) -> {
            int n = task / heads;
            int hh = task % heads;
            BackwardMath.attention(attentionScratch[worker], s.qkv, ldQ, n * tokens, hh, heads, hd, s.probs,
                    (n * heads + hh) * tokens * tokens, attnDrop ? attnMask(reg, step, i, n, hh) : null, dAttn, ldD,
                    dQkv, tokens, scale);
        });
        layerNorm(s.xIn, h, rows, p(b + "norm1.weight"), p(b + "norm1.bias"));
        layers[i][0].backwardParams(h, ldD, dQkv, ldQ, rows);
        layers[i][0].backwardInput(dQkv, ldQ, rows, dTmp, ldD, Gemm.STORE);
        layerNormBackward(s.xIn, dTmp, rows, p(b + "norm1.weight"), dx, true, b + "norm1");
    }

    /** A gradient times a branch's dropout and drop-path factors (itself when nothing drops there). */
    private float[] maskedGrad(float[] g, int rows, int stride, Regularization reg, long step, int block, Site drop,
            Site path) {
        if (reg.rate(drop, block, depth) == 0 && reg.rate(path, block, depth) == 0) {
            return g;
        }
        System.arraycopy(g, 0, tmpD, 0, rows * ldD);
        scaleByMask(tmpD, ldD, rows, stride, d, reg, step, drop, path, block);
        return tmpD;
    }

    /**
     * LayerNorm backward over rows: dst (+)= d/dx; the parameter gradients {@code name.weight/bias} (when
     * trainable) are summed per task of {@link #ROWS} rows, then over tasks in order.
     */
    private void layerNormBackward(float[] xs, float[] dy, int rows, float[] w, float[] dst, boolean add,
            String name) {
        float[] gw = g(name + ".weight");
        int tasks = tasks(rows);
        float[][] partW = gw == null ? null : new float[tasks][d];
        float[][] partB = gw == null ? null : new float[tasks][d];
        pool.run(tasks, (task, worker) -> {
            int r1 = Math.min(rows, (task + 1) * ROWS);
            for (int r = task * ROWS; r < r1; r++) {
                BackwardMath.layerNorm(xs, r * ldD, dy, r * ldD, d, w, eps, dst, r * ldD, add,
                        partW == null ? null : partW[task], partB == null ? null : partB[task]);
            }
        });
        if (gw != null) {
            float[] gb = g(name + ".bias");
            Arrays.fill(gw, 0f);
            Arrays.fill(gb, 0f);
            for (int t = 0; t < tasks; t++) {
                for (int j = 0; j < d; j++) {
                    gw[j] += partW[t][j];
                    gb[j] += partB[t][j];
                }
            }
        }
    }

    private void embedBackward(int batch, Regularization reg, long step) {
        int rows = batch * tokens;
        if (reg.rate(Site.POS, 0, depth) > 0) {
            scaleByMask(dx, ldD, rows, 1, d, reg, step, Site.POS, null, 0);
        }
        float[] gPos = g("pos_embed");
        Arrays.fill(gPos, 0f);
        for (int n = 0; n < batch; n++) {
            for (int t = 0; t < tokens; t++) {
                for (int j = 0; j < d; j++) {
                    gPos[t * d + j] += dx[(n * tokens + t) * ldD + j];
                }
            }
        }
        if (prefix == 1) {
            float[] gCls = g("cls_token");
            Arrays.fill(gCls, 0f);
            for (int n = 0; n < batch; n++) {
                for (int j = 0; j < d; j++) {
                    gCls[j] += dx[n * tokens * ldD + j];
                }
            }
        }
        for (int n = 0; n < batch; n++) {
            System.arraycopy(dx, (n * tokens + prefix) * ldD, dTmp, n * grid * ldD, grid * ldD);
        }
        patch.backwardParams(patches, kp, dTmp, ldD, batch * grid);
    }

    private static float[] compact(float[] buf, int rows, int ld, int cols) {
        float[] out = new float[rows * cols];
        for (int r = 0; r < rows; r++) {
            System.arraycopy(buf, r * ld, out, r * cols, cols);
        }
        return out;
    }
}
