package dev.vitjava.train;

import dev.vitjava.tensor.Tensor;
import dev.vitjava.model.ViTConfig;
import java.util.List;

/**
 * A backend that trains a ViT: train-mode forward and backward passes over a batch, gradients for the parameters
 * that are not frozen. Every backend computes the same function as {@link ReferenceTraining}, the float64 oracle.
 */
public interface TrainingEngine extends AutoCloseable {

    String name();

    ViTConfig config();

    /** Every parameter under its timm name, in timm's state-dict order. */
    List<Param> parameters();

    /**
     * Freezes the patch embedding, class token, position embedding and blocks [0, k) ({@code k = 0}: nothing);
     * the backward pass stops above them and their gradients are not computed.
     */
    void freeze(int k);

    int frozenBlocks();

    /**
     * Forward in train mode, mean softmax cross-entropy, backward: sets the gradient of every trainable parameter
     * (frozen ones keep stale values and must not be read).
     *
     * @param step the global step, which keys the dropout masks
     */
    StepResult step(Input input, int[] labels, double labelSmoothing, Regularization reg, long step);

    /** Eval-mode logits, (batch, classes) row-major. */
    float[] logits(Input input);

    /**
     * The eval-mode tokens leaving the frozen part (the embedding and blocks [0, frozenBlocks())), (batch, tokens, D):
     * what {@link Input#features} takes instead of pixels while nothing below them trains or drops.
     */
    float[] features(Tensor pixels);

    /** Tells the engine that the optimizer has written new parameter values. */
    void parametersChanged();

    @Override
    default void close() {
    }

    /**
     * A batch: normalised pixels (N, C, H, W), or the output of the frozen part from {@link #features}.
     */
    record Input(Tensor pixels, float[] features, int batch) {
        public static Input of(Tensor pixels) {
            return new Input(pixels, null, pixels.dim(0));
        }

        public static Input ofFeatures(float[] features, int batch) {
            return new Input(null, features, batch);
        }
    }

    /** @param loss the mean loss; @param logits (batch, classes) of the train-mode forward */
    record StepResult(double loss, float[] logits) {
    }

    /** Whether a parameter is frozen by {@code --freeze-blocks k}. */
    static boolean isFrozen(String name, int k) {
        if (k <= 0) {
            return false;
        }
        if (name.startsWith("blocks.")) {
            int dot = name.indexOf('.', 7);
            return Integer.parseInt(name.substring(7, dot)) < k;
        }
        return name.startsWith("patch_embed.") || name.equals("cls_token") || name.equals("pos_embed");
    }
}
