package dev.vitjava.train;

import dev.vitjava.VitException;
import dev.vitjava.tensor.Tensor;
import dev.vitjava.model.ViTConfig;
import dev.vitjava.model.ViTModel;
import dev.vitjava.train.Regularization.Site;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The training oracle: the ViT's train-mode forward pass and its backward pass in float64, one image at a time,
 * with {@link Layers}. Parameters are float64 copies of the model's float32 weights.
 *
 * <pre>
 * x = drop(concat(cls, conv_p(img)) + pos_embed)
 * for each block i:
 *     x = x + path1_i(drop(proj(drop_attn(softmax(q kᵀ/√d)) v)))    q, k, v = qkv(norm1(x))
 *     x = x + path2_i(drop(fc2(drop(gelu(fc1(norm2(x)))))))
 * logits = head(pool(norm(x)))                                    loss = mean cross-entropy
 * </pre>
 */
public final class ReferenceTraining implements TrainingEngine {

    private final ViTConfig c;
    private final Map<String, Param.F64> params = new LinkedHashMap<>();
    private final int d;
    private final int tokens;
    private int frozen;

    public ReferenceTraining(ViTModel model) {
        this.c = model.config();
        this.d = c.embedDim();
        this.tokens = c.numTokens();
        model.weights().toTimmStateDict().forEach((name, t) -> {
            double[] v = new double[t.size()];
            for (int i = 0; i < v.length; i++) {
                v[i] = t.get(i);
            }
            params.put(name, new Param.F64(name, t.shape(), v));
        });
    }

    @Override
    public String name() {
        return "reference";
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
    }

    @Override
    public int frozenBlocks() {
        return frozen;
    }

    @Override
    public void parametersChanged() {
        // computes from the parameters directly
    }

    private double[] p(String name) {
        Param.F64 p = params.get(name);
        return p == null ? null : p.value;
    }

    /** The gradient of a trainable parameter, or null when it is frozen or absent. */
    private double[] g(String name) {
        Param.F64 p = params.get(name);
        return p == null || TrainingEngine.isFrozen(name, frozen) ? null : p.grad;
    }

    @Override
    public StepResult step(Input input, int[] labels, double labelSmoothing, Regularization reg, long step) {
        for (Param.F64 p : params.values()) {
            java.util.Arrays.fill(p.grad, 0);
        }
        int batch = input.batch();
        int classes = c.numClasses();
        float[] logitsOut = new float[batch * classes];
        double loss = 0;
        for (int n = 0; n < batch; n++) {
            Pass pass = new Pass(reg, step, n);
            double[] logits = pass.forward(input, n);
            double[] dlogits = new double[classes];
            loss += Layers.crossEntropy(logits, new int[] {labels[n]}, classes, labelSmoothing, dlogits);
            for (int j = 0; j < classes; j++) {
                dlogits[j] /= batch;
                logitsOut[n * classes + j] = (float) logits[j];
            }
            pass.backward(dlogits);
        }
        return new StepResult(loss / batch, logitsOut);
    }

    @Override
    public float[] logits(Input input) {
        int classes = c.numClasses();
        float[] out = new float[input.batch() * classes];
        for (int n = 0; n < input.batch(); n++) {
            double[] logits = new Pass(Regularization.NONE, 0, n).forward(input, n);
            for (int j = 0; j < classes; j++) {
                out[n * classes + j] = (float) logits[j];
            }
        }
        return out;
    }

    @Override
    public float[] features(Tensor pixels) {
        int batch = pixels.dim(0);
        float[] out = new float[batch * tokens * d];
        for (int n = 0; n < batch; n++) {
            Pass pass = new Pass(Regularization.NONE, 0, n);
            double[] x = pass.embed(pixels, n);
            for (int i = 0; i < frozen; i++) {
                x = pass.block(i, x);
            }
            for (int j = 0; j < x.length; j++) {
                out[n * tokens * d + j] = (float) x[j];
            }
        }
        return out;
    }

    /** One image's forward pass, keeping what its backward pass needs. */
    private final class Pass {
        private final Regularization reg;
        private final long step;
        private final int image;
        private final BlockState[] states = new BlockState[c.depth()];
        private double[] posMask;
        private int first;
        private double[] patches;
        private double[] finalIn;
        private double[] normed;
        private double[] pooledIn;
        private double[] pooled;

        Pass(Regularization reg, long step, int image) {
            this.reg = reg;
            this.step = step;
            this.image = image;
        }

        double[] forward(Input input, int n) {
            double[] x;
            if (input.features() != null) {
                first = frozen;
                x = new double[tokens * d];
                for (int j = 0; j < x.length; j++) {
                    x[j] = input.features()[n * tokens * d + j];
                }
            } else {
                first = 0;
                x = embed(input.pixels(), n);
            }
            for (int i = first; i < c.depth(); i++) {
                x = block(i, x);
            }
            finalIn = x;
            double[] t = p("norm.weight") != null
                    ? Layers.layerNorm(x, tokens, d, p("norm.weight"), p("norm.bias"), c.layerNormEps()) : x;
            normed = t;
            pooledIn = pool(t);
            pooled = p("fc_norm.weight") != null
                    ? Layers.layerNorm(pooledIn, 1, d, p("fc_norm.weight"), p("fc_norm.bias"), c.layerNormEps())
                    : pooledIn;
            return Layers.linear(pooled, 1, d, p("head.weight"), p("head.bias"), c.numClasses());
        }

        double[] embed(Tensor pixels, int n) {
            if (pixels.dim(2) != c.imgHeight() || pixels.dim(3) != c.imgWidth()) {
                throw new VitException("training needs the trained input size " + c.imgHeight() + "x"
                        + c.imgWidth() + ", got " + pixels.dim(2) + "x" + pixels.dim(3));
            }
            int prefix = c.numPrefixTokens();
            int kp = c.inChans() * c.patchSize() * c.patchSize();
            patches = im2col(pixels, n);
            double[] emb = Layers.linear(patches, tokens - prefix, kp, p("patch_embed.proj.weight"),
                    p("patch_embed.proj.bias"), d);
            double[] x = new double[tokens * d];
            double[] pos = p("pos_embed");
            for (int j = 0; j < d; j++) {
                if (prefix == 1) {
                    x[j] = p("cls_token")[j] + pos[j];
                }
            }
            for (int r = prefix; r < tokens; r++) {
                for (int j = 0; j < d; j++) {
                    x[r * d + j] = emb[(r - prefix) * d + j] + pos[r * d + j];
                }
            }
            posMask = mask(Site.POS, 0, x.length);
            return apply(x, posMask);
        }

        /** Patches as rows of (channel, ky, kx), the convolution weight's order. */
        private double[] im2col(Tensor pixels, int n) {
            int p = c.patchSize();
            int gw = c.gridWidth();
            int kp = c.inChans() * p * p;
            int h = c.imgHeight();
            int w = c.imgWidth();
            double[] out = new double[c.gridHeight() * gw * kp];
            for (int py = 0; py < c.gridHeight(); py++) {
                for (int px = 0; px < gw; px++) {
                    for (int ch = 0; ch < c.inChans(); ch++) {
                        for (int ky = 0; ky < p; ky++) {
                            for (int kx = 0; kx < p; kx++) {
                                out[(py * gw + px) * kp + (ch * p + ky) * p + kx] = pixels.get(
                                        ((n * c.inChans() + ch) * h + py * p + ky) * w + px * p + kx);
                            }
                        }
                    }
                }
            }
            return out;
        }

        double[] block(int i, double[] xIn) {
            String b = "blocks." + i + ".";
            int heads = c.numHeads();
            int hidden = c.mlpHidden();
            BlockState s = new BlockState();
            states[i] = s;
            s.xIn = xIn;
            s.h1 = Layers.layerNorm(xIn, tokens, d, p(b + "norm1.weight"), p(b + "norm1.bias"), c.layerNormEps());
            s.qkv = Layers.linear(s.h1, tokens, d, p(b + "attn.qkv.weight"), p(b + "attn.qkv.bias"), 3 * d);
            s.probs = new double[heads * tokens * tokens];
            s.attnMask = mask(Site.ATTN, i, s.probs.length);
            s.attn = Layers.attention(s.qkv, tokens, heads, c.headDim(), s.probs, s.attnMask);
            s.projMask = combine(mask(Site.PROJ, i, tokens * d), Site.PATH1, i);
            double[] o = apply(Layers.linear(s.attn, tokens, d, p(b + "attn.proj.weight"), p(b + "attn.proj.bias"), d),
                    s.projMask);
            s.xMid = add(xIn, o);
            s.h2 = Layers.layerNorm(s.xMid, tokens, d, p(b + "norm2.weight"), p(b + "norm2.bias"), c.layerNormEps());
            s.pre = Layers.linear(s.h2, tokens, d, p(b + "mlp.fc1.weight"), p(b + "mlp.fc1.bias"), hidden);
            s.mlp1Mask = mask(Site.MLP1, i, s.pre.length);
            double[] act = new double[s.pre.length];
            for (int j = 0; j < act.length; j++) {
                act[j] = Layers.gelu(s.pre[j]);
            }
            s.act = apply(act, s.mlp1Mask);
            s.mlp2Mask = combine(mask(Site.MLP2, i, tokens * d), Site.PATH2, i);
            double[] m = apply(Layers.linear(s.act, tokens, hidden, p(b + "mlp.fc2.weight"), p(b + "mlp.fc2.bias"), d),
                    s.mlp2Mask);
            return add(s.xMid, m);
        }

        private double[] pool(double[] t) {
            double[] out = new double[d];
            if (c.globalPool() == ViTConfig.GlobalPool.TOKEN) {
                System.arraycopy(t, 0, out, 0, d);
                return out;
            }
            int prefix = c.numPrefixTokens();
            for (int r = prefix; r < tokens; r++) {
                for (int j = 0; j < d; j++) {
                    out[j] += t[r * d + j] / (tokens - prefix);
                }
            }
            return out;
        }

        void backward(double[] dlogits) {
            int classes = c.numClasses();
            double[] dPooled = Layers.linearBackward(pooled, dlogits, 1, d, p("head.weight"), classes,
                    g("head.weight"), g("head.bias"));
            if (p("fc_norm.weight") != null) {
                dPooled = Layers.layerNormBackward(pooledIn, dPooled, 1, d, p("fc_norm.weight"), c.layerNormEps(),
                        g("fc_norm.weight"), g("fc_norm.bias"));
            }
            double[] dNormed = new double[tokens * d];
            if (c.globalPool() == ViTConfig.GlobalPool.TOKEN) {
                System.arraycopy(dPooled, 0, dNormed, 0, d);
            } else {
                int prefix = c.numPrefixTokens();
                for (int r = prefix; r < tokens; r++) {
                    for (int j = 0; j < d; j++) {
                        dNormed[r * d + j] = dPooled[j] / (tokens - prefix);
                    }
                }
            }
            double[] dx = p("norm.weight") == null ? dNormed : Layers.layerNormBackward(finalIn, dNormed, tokens, d,
                    p("norm.weight"), c.layerNormEps(), g("norm.weight"), g("norm.bias"));
            int stop = Math.max(first, frozen);
            for (int i = c.depth() - 1; i >= stop; i--) {
                dx = blockBackward(i, dx);
            }
            if (stop == 0 && first == 0) {
                embedBackward(dx);
            }
        }

        private double[] blockBackward(int i, double[] dOut) {
            String b = "blocks." + i + ".";
            BlockState s = states[i];
            int hidden = c.mlpHidden();
            double[] dm = apply(dOut, s.mlp2Mask);
            double[] dAct = Layers.linearBackward(s.act, dm, tokens, hidden, p(b + "mlp.fc2.weight"), d,
                    g(b + "mlp.fc2.weight"), g(b + "mlp.fc2.bias"));
            dAct = apply(dAct, s.mlp1Mask);
            for (int j = 0; j < dAct.length; j++) {
                dAct[j] *= Layers.geluDerivative(s.pre[j]);
            }
            double[] dh2 = Layers.linearBackward(s.h2, dAct, tokens, d, p(b + "mlp.fc1.weight"), hidden,
                    g(b + "mlp.fc1.weight"), g(b + "mlp.fc1.bias"));
            double[] dMid = add(dOut, Layers.layerNormBackward(s.xMid, dh2, tokens, d, p(b + "norm2.weight"),
                    c.layerNormEps(), g(b + "norm2.weight"), g(b + "norm2.bias")));
            double[] dProj = apply(dMid, s.projMask);
            double[] dAttn = Layers.linearBackward(s.attn, dProj, tokens, d, p(b + "attn.proj.weight"), d,
                    g(b + "attn.proj.weight"), g(b + "attn.proj.bias"));
            double[] dQkv = Layers.attentionBackward(s.qkv, s.probs, s.attnMask, dAttn, tokens, c.numHeads(),
                    c.headDim());
            double[] dh1 = Layers.linearBackward(s.h1, dQkv, tokens, d, p(b + "attn.qkv.weight"), 3 * d,
                    g(b + "attn.qkv.weight"), g(b + "attn.qkv.bias"));
            return add(dMid, Layers.layerNormBackward(s.xIn, dh1, tokens, d, p(b + "norm1.weight"), c.layerNormEps(),
                    g(b + "norm1.weight"), g(b + "norm1.bias")));
        }

        private void embedBackward(double[] dx) {
            dx = apply(dx, posMask);
            int prefix = c.numPrefixTokens();
            double[] gPos = g("pos_embed");
            for (int j = 0; j < dx.length; j++) {
                gPos[j] += dx[j];
            }
            if (prefix == 1) {
                double[] gCls = g("cls_token");
                for (int j = 0; j < d; j++) {
                    gCls[j] += dx[j];
                }
            }
            double[] dEmb = new double[(tokens - prefix) * d];
            System.arraycopy(dx, prefix * d, dEmb, 0, dEmb.length);
            int kp = c.inChans() * c.patchSize() * c.patchSize();
            Layers.linearBackward(patches, dEmb, tokens - prefix, kp, p("patch_embed.proj.weight"), d,
                    g("patch_embed.proj.weight"), g("patch_embed.proj.bias"));
        }

        /** The dropout factors of a site for this image, or null when nothing can drop there. */
        private double[] mask(Site site, int block, int n) {
            if (reg.rate(site, block, c.depth()) == 0) {
                return null;
            }
            double[] m = new double[n];
            for (int j = 0; j < n; j++) {
                m[j] = reg.scale(step, site, block, c.depth(), (long) image * n + j);
            }
            return m;
        }

        /** A branch's dropout mask times its drop-path factor (one per image). */
        private double[] combine(double[] m, Site path, int block) {
            if (reg.rate(path, block, c.depth()) == 0) {
                return m;
            }
            double f = reg.scale(step, path, block, c.depth(), image);
            double[] out = new double[tokens * d];
            for (int j = 0; j < out.length; j++) {
                out[j] = f * (m == null ? 1 : m[j]);
            }
            return out;
        }
    }

    /** A block's saved activations. */
    private static final class BlockState {
        double[] xIn;
        double[] h1;
        double[] qkv;
        double[] probs;
        double[] attnMask;
        double[] attn;
        double[] projMask;
        double[] xMid;
        double[] h2;
        double[] pre;
        double[] mlp1Mask;
        double[] act;
        double[] mlp2Mask;
    }

    private static double[] apply(double[] x, double[] mask) {
        if (mask == null) {
            return x;
        }
        double[] out = new double[x.length];
        for (int j = 0; j < x.length; j++) {
            out[j] = x[j] * mask[j];
        }
        return out;
    }

    private static double[] add(double[] a, double[] b) {
        double[] out = new double[a.length];
        for (int j = 0; j < a.length; j++) {
            out[j] = a[j] + b[j];
        }
        return out;
    }
}
