package dev.vitjava.train;

import dev.vitjava.VitException;
import java.util.Locale;

/**
 * The learning rate of each optimizer step: a linear warm-up over the first {@code warmupSteps} steps
 * (lr·(s+1)/warmup), then constant, cosine (to 0 at the last step, as torch's CosineAnnealingLR with eta_min 0
 * stepped per step) or step decay (×{@code gamma} every {@code stepEpochs} epochs, torch's StepLR per epoch).
 */
public record Schedule(Kind kind, double lr, int warmupSteps, long totalSteps, int stepsPerEpoch, int stepEpochs,
        double gamma) {

    public enum Kind {
        CONSTANT, COSINE, STEP;

        public static Kind parse(String s) {
            try {
                return valueOf(s.toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new VitException("unknown --schedule '" + s + "' (choose constant, cosine or step)");
            }
        }
    }

    public Schedule {
        if (!(lr > 0) || !Double.isFinite(lr)) {
            throw new VitException("--lr must be a positive number, got " + lr);
        }
        if (warmupSteps < 0) {
            throw new VitException("--warmup-steps must not be negative, got " + warmupSteps);
        }
    }

    /** The learning rate of step {@code s} (0-based). */
    public double at(long s) {
        if (s < warmupSteps) {
            return lr * (s + 1) / warmupSteps;
        }
        return switch (kind) {
            case CONSTANT -> lr;
            case COSINE -> {
                long span = Math.max(1, totalSteps - warmupSteps);
                double t = Math.min(1.0, (double) (s - warmupSteps) / span);
                yield lr * 0.5 * (1 + Math.cos(Math.PI * t));
            }
            case STEP -> lr * Math.pow(gamma, (s / Math.max(1, stepsPerEpoch)) / Math.max(1, stepEpochs));
        };
    }
}
