package dev.vitjava.train;

import dev.vitjava.engine.Erf;

/**
 * The layers of a ViT with their backward passes, in float64 and plain loops: the oracle of training, as
 * {@link dev.vitjava.engine.ReferenceEngine} is of inference. Matrices are row-major; a backward adds into the
 * parameter gradients it is given (so a batch accumulates) and returns or fills the input gradient.
 */
public final class Layers {

    private static final double INV_SQRT2 = 0.7071067811865476;
    private static final double INV_SQRT_2PI = 0.3989422804014327;

    private Layers() {
    }

    /** y = x Wᵀ + b for x (rows, in), W (out, in), b (out) or null. */
    public static double[] linear(double[] x, int rows, int in, double[] w, double[] b, int out) {
        double[] y = new double[rows * out];
        for (int r = 0; r < rows; r++) {
            for (int o = 0; o < out; o++) {
                double acc = b == null ? 0 : b[o];
                for (int i = 0; i < in; i++) {
                    acc += x[r * in + i] * w[o * in + i];
                }
                y[r * out + o] = acc;
            }
        }
        return y;
    }

    /**
     * Backward of {@link #linear}: dW += dyᵀ x, db += Σ_rows dy (dW, db may be null: frozen), returns dx = dy W.
     */
    public static double[] linearBackward(double[] x, double[] dy, int rows, int in, double[] w, int out,
            double[] dw, double[] db) {
        double[] dx = new double[rows * in];
        for (int r = 0; r < rows; r++) {
            for (int o = 0; o < out; o++) {
                double g = dy[r * out + o];
                if (db != null) {
                    db[o] += g;
                }
                for (int i = 0; i < in; i++) {
                    dx[r * in + i] += g * w[o * in + i];
                    if (dw != null) {
                        dw[o * in + i] += g * x[r * in + i];
                    }
                }
            }
        }
        return dx;
    }

    /** LayerNorm over rows of width d: biased variance, eps inside the square root. */
    public static double[] layerNorm(double[] x, int rows, int d, double[] w, double[] b, double eps) {
        double[] y = new double[rows * d];
        for (int r = 0; r < rows; r++) {
            double mean = mean(x, r * d, d);
            double inv = 1 / Math.sqrt(variance(x, r * d, d, mean) + eps);
            for (int j = 0; j < d; j++) {
                y[r * d + j] = (x[r * d + j] - mean) * inv * w[j] + b[j];
            }
        }
        return y;
    }

    /**
     * Backward of {@link #layerNorm}: with x̂ = (x − μ)/σ and g = dy·w,
     * dx = (g − mean(g) − x̂ · mean(g x̂)) / σ; dw += dy x̂, db += dy (null when frozen).
     */
    public static double[] layerNormBackward(double[] x, double[] dy, int rows, int d, double[] w, double eps,
            double[] dw, double[] db) {
        double[] dx = new double[rows * d];
        double[] xhat = new double[d];
        double[] g = new double[d];
        for (int r = 0; r < rows; r++) {
            double mean = mean(x, r * d, d);
            double inv = 1 / Math.sqrt(variance(x, r * d, d, mean) + eps);
            double meanG = 0;
            double meanGx = 0;
            for (int j = 0; j < d; j++) {
                xhat[j] = (x[r * d + j] - mean) * inv;
                g[j] = dy[r * d + j] * w[j];
                meanG += g[j];
                meanGx += g[j] * xhat[j];
                if (dw != null) {
                    dw[j] += dy[r * d + j] * xhat[j];
                    db[j] += dy[r * d + j];
                }
            }
            meanG /= d;
            meanGx /= d;
            for (int j = 0; j < d; j++) {
                dx[r * d + j] = (g[j] - meanG - xhat[j] * meanGx) * inv;
            }
        }
        return dx;
    }

    private static double mean(double[] x, int off, int d) {
        double s = 0;
        for (int j = 0; j < d; j++) {
            s += x[off + j];
        }
        return s / d;
    }

    private static double variance(double[] x, int off, int d, double mean) {
        double s = 0;
        for (int j = 0; j < d; j++) {
            double dev = x[off + j] - mean;
            s += dev * dev;
        }
        return s / d;
    }

    /** Exact GELU, x Φ(x). */
    public static double gelu(double x) {
        return Erf.gelu(x);
    }

    /** d/dx of exact GELU: Φ(x) + x φ(x). */
    public static double geluDerivative(double x) {
        return 0.5 * (1 + Erf.erf(x * INV_SQRT2)) + x * INV_SQRT_2PI * Math.exp(-0.5 * x * x);
    }

    /**
     * Multi-head self-attention on fused qkv (tokens, 3D) laid out [q | k | v], each head-major. Fills
     * {@code probs} (heads, T, T) with softmax(q kᵀ / √hd) and returns (P ⊙ mask) v, where {@code mask}
     * (heads, T, T) holds the attention-dropout factors (null: none).
     */
    public static double[] attention(double[] qkv, int tokens, int heads, int hd, double[] probs, double[] mask) {
        int d = heads * hd;
        double scale = 1 / Math.sqrt(hd);
        double[] out = new double[tokens * d];
        for (int h = 0; h < heads; h++) {
            for (int i = 0; i < tokens; i++) {
                int row = (h * tokens + i) * tokens;
                double max = Double.NEGATIVE_INFINITY;
                for (int j = 0; j < tokens; j++) {
                    double s = 0;
                    for (int e = 0; e < hd; e++) {
                        s += qkv[i * 3 * d + h * hd + e] * qkv[j * 3 * d + d + h * hd + e];
                    }
                    probs[row + j] = s * scale;
                    max = Math.max(max, probs[row + j]);
                }
                double sum = 0;
                for (int j = 0; j < tokens; j++) {
                    probs[row + j] = Math.exp(probs[row + j] - max);
                    sum += probs[row + j];
                }
                for (int j = 0; j < tokens; j++) {
                    probs[row + j] /= sum;
                }
                for (int e = 0; e < hd; e++) {
                    double acc = 0;
                    for (int j = 0; j < tokens; j++) {
                        double p = mask == null ? probs[row + j] : probs[row + j] * mask[row + j];
                        acc += p * qkv[j * 3 * d + 2 * d + h * hd + e];
                    }
                    out[i * d + h * hd + e] = acc;
                }
            }
        }
        return out;
    }

    /**
     * Backward of {@link #attention}: with A = P ⊙ mask, dv = Aᵀ dout, dA = dout vᵀ, dP = dA ⊙ mask,
     * dS = P ⊙ (dP − rowsum(dP ⊙ P)), dq = dS k / √hd, dk = dSᵀ q / √hd. Returns d qkv (tokens, 3D).
     */
    public static double[] attentionBackward(double[] qkv, double[] probs, double[] mask, double[] dout, int tokens,
            int heads, int hd) {
        int d = heads * hd;
        int w = 3 * d;
        double scale = 1 / Math.sqrt(hd);
        double[] dqkv = new double[tokens * w];
        double[] dp = new double[tokens];
        for (int h = 0; h < heads; h++) {
            int q0 = h * hd;
            int k0 = d + h * hd;
            int v0 = 2 * d + h * hd;
            for (int i = 0; i < tokens; i++) {
                int row = (h * tokens + i) * tokens;
                double dot = 0;
                for (int j = 0; j < tokens; j++) {
                    double m = mask == null ? 1 : mask[row + j];
                    double da = 0;
                    for (int e = 0; e < hd; e++) {
                        double g = dout[i * d + h * hd + e];
                        da += g * qkv[j * w + v0 + e];
                        dqkv[j * w + v0 + e] += probs[row + j] * m * g;
                    }
                    dp[j] = da * m;
                    dot += dp[j] * probs[row + j];
                }
                for (int j = 0; j < tokens; j++) {
                    double ds = probs[row + j] * (dp[j] - dot) * scale;
                    for (int e = 0; e < hd; e++) {
                        dqkv[i * w + q0 + e] += ds * qkv[j * w + k0 + e];
                        dqkv[j * w + k0 + e] += ds * qkv[i * w + q0 + e];
                    }
                }
            }
        }
        return dqkv;
    }

    /**
     * Mean softmax cross-entropy over a batch with label smoothing ε (PyTorch's {@code label_smoothing}: the
     * target is (1 − ε) one-hot + ε / classes). Writes d loss / d logits into {@code dlogits}; returns the loss.
     */
    public static double crossEntropy(double[] logits, int[] labels, int classes, double smoothing,
            double[] dlogits) {
        int batch = labels.length;
        double loss = 0;
        for (int n = 0; n < batch; n++) {
            int off = n * classes;
            double max = Double.NEGATIVE_INFINITY;
            for (int c = 0; c < classes; c++) {
                max = Math.max(max, logits[off + c]);
            }
            double sum = 0;
            for (int c = 0; c < classes; c++) {
                sum += Math.exp(logits[off + c] - max);
            }
            double logSum = max + Math.log(sum);
            for (int c = 0; c < classes; c++) {
                double target = (c == labels[n] ? 1 - smoothing : 0) + smoothing / classes;
                double logP = logits[off + c] - logSum;
                loss -= target * logP;
                dlogits[off + c] = (Math.exp(logP) - target) / batch;
            }
        }
        return loss / batch;
    }
}
