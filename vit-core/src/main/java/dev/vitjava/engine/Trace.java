package dev.vitjava.engine;

import dev.vitjava.model.Tensor;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Intermediates of a forward pass under the golden key names, so any backend's trace can be compared with
 * PyTorch's: {@code embed} (N, T, D) tokens entering block 0; {@code block{i}_attn} (N, heads, T, T) softmax
 * probabilities; {@code block{i}_out} (N, T, D); {@code tokens_normed} (N, T, D); {@code pre_logits} (N, D);
 * {@code logits} (N, classes); and {@code pos_embed_resized} (1, T, D) when the position embedding was resampled.
 */
public final class Trace {

    public static final String EMBED = "embed";
    public static final String TOKENS_NORMED = "tokens_normed";
    public static final String PRE_LOGITS = "pre_logits";
    public static final String LOGITS = "logits";
    public static final String POS_EMBED_RESIZED = "pos_embed_resized";

    private final Map<String, Tensor> tensors = new LinkedHashMap<>();
    private final boolean enabled;

    public Trace(boolean enabled) {
        this.enabled = enabled;
    }

    public static String blockAttn(int block) {
        return "block" + block + "_attn";
    }

    public static String blockOut(int block) {
        return "block" + block + "_out";
    }

    /** Records a copy of {@code values} (the caller keeps reusing its buffers). */
    public void put(String key, float[] values, int... shape) {
        if (enabled) {
            tensors.put(key, Tensor.of(values.clone(), shape));
        }
    }

    public Map<String, Tensor> tensors() {
        return tensors;
    }
}
