package dev.vitjava.train;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * Every layer's backward pass against central finite differences in float64: for a random projection
 * L = Σ dy ⊙ f(x), the analytic gradient of L must equal (L(x + h) − L(x − h)) / 2h for every input and parameter.
 */
class LayersTest {

    private static final double H = 1e-5;
    private final Random rnd = new Random(13);

    private double[] random(int n, double scale) {
        double[] a = new double[n];
        for (int i = 0; i < n; i++) {
            a[i] = rnd.nextGaussian() * scale;
        }
        return a;
    }

    private static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += a[i] * b[i];
        }
        return s;
    }

    /** Checks that {@code analytic} is d/dv of dot(dy, f()) where f reads v. */
    private static void checkGradient(String what, double[] v, double[] analytic, double[] dy,
            java.util.function.Supplier<double[]> f) {
        double maxErr = 0;
        double scale = 1e-6;
        for (int i = 0; i < v.length; i++) {
            double keep = v[i];
            v[i] = keep + H;
            double up = dot(dy, f.get());
            v[i] = keep - H;
            double down = dot(dy, f.get());
            v[i] = keep;
            double numeric = (up - down) / (2 * H);
            maxErr = Math.max(maxErr, Math.abs(numeric - analytic[i]));
            scale = Math.max(scale, Math.abs(numeric));
        }
        assertThat(maxErr / scale).as(what).isLessThan(1e-7);
    }

    @Test
    void linear() {
        int rows = 5, in = 7, out = 6;
        double[] x = random(rows * in, 1), w = random(out * in, 0.5), b = random(out, 0.5), dy = random(rows * out, 1);
        double[] dw = new double[w.length], db = new double[b.length];
        double[] dx = Layers.linearBackward(x, dy, rows, in, w, out, dw, db);
        java.util.function.Supplier<double[]> f = () -> Layers.linear(x, rows, in, w, b, out);
        checkGradient("dx", x, dx, dy, f);
        checkGradient("dw", w, dw, dy, f);
        checkGradient("db", b, db, dy, f);
    }

    @Test
    void layerNorm() {
        int rows = 4, d = 9;
        double[] x = random(rows * d, 2), w = random(d, 1), b = random(d, 1), dy = random(rows * d, 1);
        double[] dw = new double[d], db = new double[d];
        double[] dx = Layers.layerNormBackward(x, dy, rows, d, w, 1e-6, dw, db);
        java.util.function.Supplier<double[]> f = () -> Layers.layerNorm(x, rows, d, w, b, 1e-6);
        checkGradient("dx", x, dx, dy, f);
        checkGradient("dw", w, dw, dy, f);
        checkGradient("db", b, db, dy, f);
    }

    @Test
    void gelu() {
        double[] x = random(64, 2.5);
        double[] dy = random(64, 1);
        double[] dx = new double[64];
        for (int i = 0; i < 64; i++) {
            dx[i] = dy[i] * Layers.geluDerivative(x[i]);
        }
        checkGradient("dx", x, dx, dy, () -> map(x, Layers::gelu));
    }

    private static double[] map(double[] x, Function<Double, Double> f) {
        double[] out = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            out[i] = f.apply(x[i]);
        }
        return out;
    }

    @Test
    void attentionWithAndWithoutDropoutMask() {
        int tokens = 5, heads = 2, hd = 3, d = heads * hd;
        double[] qkv = random(tokens * 3 * d, 1.5), dy = random(tokens * d, 1);
        double[] mask = new double[heads * tokens * tokens];
        for (int i = 0; i < mask.length; i++) {
            mask[i] = rnd.nextDouble() < 0.3 ? 0 : 1 / 0.7;
        }
        for (double[] m : new double[][] {null, mask}) {
            double[] probs = new double[heads * tokens * tokens];
            Layers.attention(qkv, tokens, heads, hd, probs, m);
            double[] dqkv = Layers.attentionBackward(qkv, probs, m, dy, tokens, heads, hd);
            checkGradient(m == null ? "dqkv" : "dqkv with dropout", qkv, dqkv, dy,
                    () -> Layers.attention(qkv, tokens, heads, hd, new double[heads * tokens * tokens], m));
        }
    }

    @Test
    void crossEntropyWithLabelSmoothing() {
        int batch = 3, classes = 5;
        double[] logits = random(batch * classes, 2);
        int[] labels = {4, 0, 2};
        for (double eps : new double[] {0, 0.1}) {
            double[] dl = new double[logits.length];
            Layers.crossEntropy(logits, labels, classes, eps, dl);
            checkGradient("dlogits, smoothing " + eps, logits, dl, new double[] {1},
                    () -> new double[] {Layers.crossEntropy(logits, labels, classes, eps, new double[logits.length])});
        }
        // PyTorch's F.cross_entropy([[1, 2, 3]], [2], label_smoothing=0.1) = 0.5076059644443804
        double loss = Layers.crossEntropy(new double[] {1, 2, 3}, new int[] {2}, 3, 0.1, new double[3]);
        assertThat(loss).isCloseTo(0.5076059644443804, org.assertj.core.api.Assertions.within(1e-12));
    }
}
