package dev.vitjava.engine;

import dev.vitjava.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;

/** Softmax probabilities and top-k classes from logits. */
public final class Predictions {

    /** One ranked class. */
    public record Ranked(int index, String label, double prob) {
    }

    private Predictions() {
    }

    /** Softmax of row {@code row} of (N, classes) logits, in double (max-subtracted, so it cannot overflow). */
    public static double[] softmax(Tensor logits, int row) {
        int k = logits.dim(1);
        double[] p = new double[k];
        for (int j = 0; j < k; j++) {
            p[j] = logits.get(row * k + j);
        }
        softmaxInPlace(p, k);
        return p;
    }

    /** x[0, n) = softmax(x[0, n)) in double, max-subtracted; also the reference engine's attention softmax. */
    static void softmaxInPlace(double[] x, int n) {
        double max = Double.NEGATIVE_INFINITY;
        for (int j = 0; j < n; j++) {
            max = Math.max(max, x[j]);
        }
        double sum = 0;
        for (int j = 0; j < n; j++) {
            x[j] = Math.exp(x[j] - max);
            sum += x[j];
        }
        for (int j = 0; j < n; j++) {
            x[j] /= sum;
        }
    }

    /** The {@code k} most probable classes, highest first; ties go to the lower index, as torch.topk does. */
    public static List<Ranked> topK(double[] probs, List<String> labels, int k) {
        List<Ranked> out = new ArrayList<>();
        boolean[] taken = new boolean[probs.length];
        for (int r = 0; r < Math.min(k, probs.length); r++) {
            int best = -1;
            for (int j = 0; j < probs.length; j++) {
                if (!taken[j] && (best < 0 || probs[j] > probs[best])) {
                    best = j;
                }
            }
            taken[best] = true;
            out.add(new Ranked(best, labels.get(best), probs[best]));
        }
        return out;
    }
}
