package dev.vitjava.engine;

import dev.vitjava.model.ViTConfig;
import dev.vitjava.model.ViTModel;
import dev.vitjava.model.ViTWeights;
import dev.vitjava.model.ViTWeights.Block;
import dev.vitjava.model.ViTWeights.Linear;
import dev.vitjava.model.ViTWeights.Norm;
import dev.vitjava.tensor.Tensor;
import java.nio.FloatBuffer;

/**
 * The scalar reference: the whole ViT forward pass in plain loops, one image at a time, accumulating in double.
 * Clarity over speed; it is the oracle that every other backend is tested against.
 *
 * <pre>
 * x = concat(cls, conv_p(img)) + pos_embed          embed
 * for each block:
 *     x = x + proj(attention(qkv(norm1(x))))        multi-head self-attention, fused qkv
 *     x = x + fc2(gelu(fc1(norm2(x))))              MLP with exact GELU
 * tokens = norm(x); pooled = tokens[0] (or mean)    tokens_normed, pre_logits
 * logits = head(pooled)
 * </pre>
 */
public final class ReferenceEngine implements InferenceEngine {

    /** Registers this engine as the {@code reference} backend. */
    public static final class Provider implements EngineProvider {
        @Override
        public String name() {
            return "reference";
        }

        @Override
        public String description() {
            return "scalar Java, double accumulation: the oracle every backend is tested against";
        }

        @Override
        public InferenceEngine create(ViTModel model, EngineOptions options) {
            return new ReferenceEngine(model);
        }
    }

    private final ViTModel model;
    private final ViTConfig c;

    public ReferenceEngine(ViTModel model) {
        this.model = model;
        this.c = model.config();
    }

    @Override
    public String name() {
        return "reference";
    }

    @Override
    public Result forward(Tensor pixels, TraceRequest request) {
        int[] grid = Inputs.check(c, pixels, true, !request.isNone());
        int batch = pixels.dim(0);
        int gh = grid[0];
        int gw = grid[1];
        int tokens = c.numPrefixTokens() + gh * gw;
        int d = c.embedDim();
        int heads = c.numHeads();
        Tensor posEmbed = model.posEmbed(gh, gw);
        Trace trace = new Trace(request, c, batch, gh, gw);

        // Block by block over the batch, so the trace gets each block's (N, ...) intermediates right after it and a
        // streaming request can drop them before the next block.
        float[][] x = new float[batch][];
        int imageSize = pixels.dim(1) * pixels.dim(2) * pixels.dim(3);
        for (int n = 0; n < batch; n++) {
            x[n] = embed(pixels.data().slice(n * imageSize, imageSize), pixels.dim(2), pixels.dim(3), gh, gw,
                    posEmbed);
        }
        trace.posEmbed(posEmbed);
        trace.embed(() -> concat(x));
        for (int i = 0; i < c.depth(); i++) {
            Block b = model.weights().blocks().get(i);
            float[][] qkv = new float[batch][];
            float[][] probs = new float[batch][];
            for (int n = 0; n < batch; n++) {
                probs[n] = new float[heads * tokens * tokens];
                float[] h = layerNorm(x[n], tokens, b.norm1());
                qkv[n] = linear(h, tokens, b.qkv());
                float[] a = linear(attention(qkv[n], tokens, probs[n]), tokens, b.proj());
                add(x[n], a);
                float[] m = linear(layerNorm(x[n], tokens, b.norm2()), tokens, b.fc1());
                gelu(m);
                add(x[n], linear(m, tokens, b.fc2()));
            }
            trace.blockQk(i, () -> Trace.splitHeads(concat(qkv), 3 * d, 0, batch, tokens, heads, c.headDim()),
                    () -> Trace.splitHeads(concat(qkv), 3 * d, d, batch, tokens, heads, c.headDim()));
            trace.blockAttn(i, () -> concat(probs));
            trace.blockOut(i, () -> concat(x));
        }

        float[][] normed = new float[batch][];
        float[] preLogits = new float[batch * d];
        float[] logits = new float[batch * c.numClasses()];
        for (int n = 0; n < batch; n++) {
            float[] pooled = pool(x[n], tokens, normed, n);
            System.arraycopy(pooled, 0, preLogits, n * d, d);
            System.arraycopy(linear(pooled, 1, model.weights().head()), 0, logits, n * c.numClasses(),
                    c.numClasses());
        }
        if (normed[0] != null) {
            trace.tokensNormed(() -> concat(normed));
        }
        return trace.result(logits, preLogits);
    }

    /** Patch embedding (the stride-p convolution), class token, position embedding: (tokens, D). */
    private float[] embed(FloatBuffer img, int height, int width, int gh, int gw, Tensor posEmbed) {
        int d = c.embedDim();
        int p = c.patchSize();
        int prefix = c.numPrefixTokens();
        Linear conv = model.weights().patchEmbed();
        float[] x = new float[(prefix + gh * gw) * d];
        if (prefix == 1) {
            for (int j = 0; j < d; j++) {
                x[j] = model.weights().clsToken().get(j);
            }
        }
        for (int py = 0; py < gh; py++) {
            for (int px = 0; px < gw; px++) {
                int token = prefix + py * gw + px;
                for (int o = 0; o < d; o++) {
                    double acc = conv.bias().get(o);
                    for (int ch = 0; ch < c.inChans(); ch++) {
                        for (int ky = 0; ky < p; ky++) {
                            for (int kx = 0; kx < p; kx++) {
                                acc += (double) conv.weight().get(((o * c.inChans() + ch) * p + ky) * p + kx)
                                        * img.get((ch * height + py * p + ky) * width + px * p + kx);
                            }
                        }
                    }
                    x[token * d + o] = (float) acc;
                }
            }
        }
        for (int i = 0; i < x.length; i++) {
            x[i] += posEmbed.get(i);
        }
        return x;
    }

    /** LayerNorm over the last dimension of (rows, D): biased variance, eps inside the square root. */
    private float[] layerNorm(float[] x, int rows, Norm norm) {
        int d = c.embedDim();
        float[] out = new float[rows * d];
        for (int r = 0; r < rows; r++) {
            double mean = 0;
            for (int j = 0; j < d; j++) {
                mean += x[r * d + j];
            }
            mean /= d;
            double var = 0;
            for (int j = 0; j < d; j++) {
                double dev = x[r * d + j] - mean;
                var += dev * dev;
            }
            var /= d;
            double inv = 1.0 / Math.sqrt(var + c.layerNormEps());
            for (int j = 0; j < d; j++) {
                out[r * d + j] = (float) ((x[r * d + j] - mean) * inv * norm.weight().get(j) + norm.bias().get(j));
            }
        }
        return out;
    }

    /** y = x Wᵀ + b for x (rows, in) and W (out, in). */
    private static float[] linear(float[] x, int rows, Linear layer) {
        int out = layer.outFeatures();
        int in = layer.inFeatures();
        float[] y = new float[rows * out];
        for (int r = 0; r < rows; r++) {
            for (int o = 0; o < out; o++) {
                double acc = layer.bias() == null ? 0 : layer.bias().get(o);
                for (int i = 0; i < in; i++) {
                    acc += (double) x[r * in + i] * layer.weight().get(o * in + i);
                }
                y[r * out + o] = (float) acc;
            }
        }
        return y;
    }

    /**
     * Multi-head self-attention on fused qkv (tokens, 3D) laid out [q | k | v], each head-major:
     * softmax(q kᵀ / sqrt(head_dim)) v per head; the probabilities go to {@code probs} (heads, T, T).
     */
    private float[] attention(float[] qkv, int tokens, float[] probs) {
        int d = c.embedDim();
        int hd = c.headDim();
        double scale = 1.0 / Math.sqrt(hd);
        float[] out = new float[tokens * d];
        double[] scores = new double[tokens];
        for (int h = 0; h < c.numHeads(); h++) {
            int q0 = h * hd;
            int k0 = d + h * hd;
            int v0 = 2 * d + h * hd;
            for (int i = 0; i < tokens; i++) {
                for (int j = 0; j < tokens; j++) {
                    double s = 0;
                    for (int e = 0; e < hd; e++) {
                        s += (double) qkv[i * 3 * d + q0 + e] * qkv[j * 3 * d + k0 + e];
                    }
                    scores[j] = s * scale;
                }
                Predictions.softmaxInPlace(scores, tokens);
                for (int j = 0; j < tokens; j++) {
                    probs[(h * tokens + i) * tokens + j] = (float) scores[j];
                }
                for (int e = 0; e < hd; e++) {
                    double acc = 0;
                    for (int j = 0; j < tokens; j++) {
                        acc += scores[j] * qkv[j * 3 * d + v0 + e];
                    }
                    out[i * d + q0 + e] = (float) acc;
                }
            }
        }
        return out;
    }

    /** Final norm, pooling (the class token, or the mean of the patch tokens), then fc_norm if the model has one. */
    private float[] pool(float[] x, int tokens, float[][] normed, int n) {
        int d = c.embedDim();
        ViTWeights w = model.weights();
        float[] t = w.norm() != null ? layerNorm(x, tokens, w.norm()) : x;
        if (w.norm() != null) {
            normed[n] = t;
        }
        float[] pooled = new float[d];
        if (c.globalPool() == ViTConfig.GlobalPool.TOKEN) {
            System.arraycopy(t, 0, pooled, 0, d);
        } else {
            int prefix = c.numPrefixTokens();
            for (int j = 0; j < d; j++) {
                double s = 0;
                for (int r = prefix; r < tokens; r++) {
                    s += t[r * d + j];
                }
                pooled[j] = (float) (s / (tokens - prefix));
            }
        }
        return w.fcNorm() != null ? layerNorm(pooled, 1, w.fcNorm()) : pooled;
    }

    private static void gelu(float[] x) {
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) Erf.gelu(x[i]);
        }
    }

    private static void add(float[] x, float[] y) {
        for (int i = 0; i < x.length; i++) {
            x[i] += y[i];
        }
    }

    private static float[] concat(float[][] parts) {
        int n = 0;
        for (float[] p : parts) {
            n += p.length;
        }
        float[] out = new float[n];
        int at = 0;
        for (float[] p : parts) {
            System.arraycopy(p, 0, out, at, p.length);
            at += p.length;
        }
        return out;
    }
}
