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

    /** Queries of block {@code block}, (N, heads, T, head_dim), before the 1/√head_dim scaling. */
    public static String blockQ(int block) {
        return "block" + block + "_q";
    }

    /** Keys of block {@code block}, (N, heads, T, head_dim). */
    public static String blockK(int block) {
        return "block" + block + "_k";
    }

    /** The block number of a {@code block{i}_…} key, or -1 for any other key. */
    public static int blockOf(String key) {
        int end = key.indexOf('_');
        if (!key.startsWith("block") || end < 6) {
            return -1;
        }
        try {
            return Integer.parseInt(key, 5, end, 10);
        } catch (NumberFormatException e) {
            return -1;
        }
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
