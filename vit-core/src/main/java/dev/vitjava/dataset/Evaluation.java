package dev.vitjava.dataset;

import java.util.List;

/**
 * Accumulates top-1/top-5 accuracy, per-class accuracy and a confusion matrix over a dataset. The dataset's classes
 * (rows) map to the model's classes (predictions): by position, or through a table when they are matched by name.
 */
public final class Evaluation {

    private final List<String> classNames;
    private final int[] targets;
    private final long[][] confusion;
    private long count;
    private long top1;
    private long top5;

    /** Dataset class {@code c} is model class {@code c}. */
    public Evaluation(List<String> classNames, int numPredictedClasses) {
        this(classNames, java.util.stream.IntStream.range(0, classNames.size()).toArray(), numPredictedClasses);
    }

    /** Dataset class {@code c} is model class {@code targets[c]}. */
    public Evaluation(List<String> classNames, int[] targets, int numPredictedClasses) {
        if (targets.length != classNames.size()) {
            throw new IllegalArgumentException(targets.length + " targets for " + classNames.size() + " classes");
        }
        this.classNames = classNames;
        this.targets = targets.clone();
        this.confusion = new long[classNames.size()][numPredictedClasses];
    }

    /**
     * The model class of each dataset class when every class name is exactly one model label (case-insensitive),
     * else null: ImageFolder folders named after the model's labels are matched by name, others by position.
     */
    public static int[] targetsByName(List<String> classNames, List<String> labels) {
        int[] targets = new int[classNames.size()];
        for (int c = 0; c < classNames.size(); c++) {
            targets[c] = -1;
            for (int m = 0; m < labels.size(); m++) {
                if (labels.get(m).equalsIgnoreCase(classNames.get(c))) {
                    if (targets[c] >= 0) {
                        return null; // two labels of that name: ambiguous
                    }
                    targets[c] = m;
                }
            }
            if (targets[c] < 0) {
                return null;
            }
        }
        return targets;
    }

    /** Records one sample: its dataset class and the predicted model classes, best first (at least one). */
    public void add(int label, int[] ranked) {
        count++;
        confusion[label][ranked[0]]++;
        int target = targets[label];
        if (ranked[0] == target) {
            top1++;
        }
        for (int r = 0; r < Math.min(5, ranked.length); r++) {
            if (ranked[r] == target) {
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

    /** The model class that dataset class {@code label} is. */
    public int target(int label) {
        return targets[label];
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
        int target = targets[label];
        return n == 0 ? Double.NaN : (double) (target < confusion[label].length ? confusion[label][target] : 0) / n;
    }
}
