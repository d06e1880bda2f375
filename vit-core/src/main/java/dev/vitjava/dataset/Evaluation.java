package dev.vitjava.dataset;

import java.util.List;

/** Accumulates top-1/top-5 accuracy, per-class accuracy and a confusion matrix over a dataset. */
public final class Evaluation {

    private final List<String> classNames;
    private final long[][] confusion;
    private long count;
    private long top1;
    private long top5;

    public Evaluation(List<String> classNames, int numPredictedClasses) {
        this.classNames = classNames;
        this.confusion = new long[classNames.size()][numPredictedClasses];
    }

    /** Records one sample: its true label and the predicted classes, best first (at least one). */
    public void add(int label, int[] ranked) {
        count++;
        confusion[label][ranked[0]]++;
        if (ranked[0] == label) {
            top1++;
        }
        for (int r = 0; r < Math.min(5, ranked.length); r++) {
            if (ranked[r] == label) {
                top5++;
                break;
            }
        }
    }

    public long count() {
        return count;
    }

    public long top1Correct() {
        return top1;
    }

    public double top1() {
        return count == 0 ? 0 : (double) top1 / count;
    }

    public double top5() {
        return count == 0 ? 0 : (double) top5 / count;
    }

    public List<String> classNames() {
        return classNames;
    }

    /** confusion[true][predicted] counts. */
    public long[][] confusion() {
        return confusion;
    }

    public long support(int label) {
        long n = 0;
        for (long v : confusion[label]) {
            n += v;
        }
        return n;
    }

    /** Fraction of samples of class {@code label} predicted correctly (recall), NaN without samples. */
    public double classAccuracy(int label) {
        long n = support(label);
        return n == 0 ? Double.NaN : (double) (label < confusion[label].length ? confusion[label][label] : 0) / n;
    }
}
