package dev.vitjava.engine;

import dev.vitjava.model.ViTConfig;
import dev.vitjava.tensor.Tensor;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The intermediates of one forward pass under the golden key names, so any backend's trace compares with
 * PyTorch's: {@code pos_embed_resized} (1, T, D) when the position embedding was resampled; {@code embed} (N, T, D)
 * tokens entering block 0; {@code block{i}_q}, {@code block{i}_k} (N, heads, T, head_dim) queries and keys before
 * the 1/√head_dim scaling; {@code block{i}_attn} (N, heads, T, T) softmax probabilities; {@code block{i}_out}
 * (N, T, D); {@code tokens_normed} (N, T, D); {@code pre_logits} (N, D); {@code logits} (N, classes).
 *
 * <p>Every engine records through this class: the key names and shapes live here only, a key is recorded only if
 * the {@link TraceRequest} wants it, and values are produced lazily (a supplier of a fresh array the trace keeps),
 * so an unwanted key costs nothing. A request with a sink ({@link TraceRequest#streaming}) receives each tensor as
 * it is recorded instead, so the caller can reduce a block's intermediates and let them go before the next block.
 * A new key is one name and one recording method here, and a call in each engine that can produce it.
 */
public final class Trace {

    public static final String POS_EMBED_RESIZED = "pos_embed_resized";
    public static final String EMBED = "embed";
    public static final String TOKENS_NORMED = "tokens_normed";
    public static final String PRE_LOGITS = "pre_logits";
    public static final String LOGITS = "logits";

    public static String blockAttn(int block) {
        return "block" + block + "_attn";
    }

    public static String blockOut(int block) {
        return "block" + block + "_out";
    }

    public static String blockQ(int block) {
        return "block" + block + "_q";
    }

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

    private final TraceRequest request;
    private final ViTConfig c;
    private final int batch;
    private final int tokens;
    private final boolean resized;
    private final Map<String, Tensor> tensors = new LinkedHashMap<>();

    /** The trace of a forward pass of {@code batch} images on a gh × gw patch grid. */
    public Trace(TraceRequest request, ViTConfig c, int batch, int gh, int gw) {
        this.request = request;
        this.c = c;
        this.batch = batch;
        this.tokens = c.numPrefixTokens() + gh * gw;
        this.resized = gh != c.gridHeight() || gw != c.gridWidth();
    }

    public boolean wants(String key) {
        return request.wants(key);
    }

    /** Whether any intermediate of block {@code i} is wanted (engines may then skip work only the trace needs). */
    public boolean wantsBlock(int i) {
        return wants(blockAttn(i)) || wants(blockOut(i)) || wants(blockQ(i)) || wants(blockK(i));
    }

    /** The position embedding added to the tokens, (T, D): recorded only when it was resampled. */
    public void posEmbed(Tensor pos) {
        if (resized) {
            record(POS_EMBED_RESIZED, () -> pos.toArray().clone(), 1, tokens, c.embedDim());
        }
    }

    public void embed(Supplier<float[]> x) {
        record(EMBED, x, batch, tokens, c.embedDim());
    }

    /**
     * Columns [offset, offset + heads · head_dim) of (N · T) rows of stride {@code ld}, head-major (as in fused
     * qkv rows [q | k | v]), rearranged to (N, heads, T, head_dim): the layout of {@code block{i}_q} and {@code _k}.
     */
    public static float[] splitHeads(float[] rows, int ld, int offset, int batch, int tokens, int heads,
            int headDim) {
        float[] out = new float[batch * heads * tokens * headDim];
        for (int b = 0; b < batch; b++) {
            for (int h = 0; h < heads; h++) {
                for (int t = 0; t < tokens; t++) {
                    System.arraycopy(rows, (b * tokens + t) * ld + offset + h * headDim, out,
                            ((b * heads + h) * tokens + t) * headDim, headDim);
                }
            }
        }
        return out;
    }

    /** Queries and keys of block {@code i}, each (N, heads, T, head_dim). */
    public void blockQk(int i, Supplier<float[]> q, Supplier<float[]> k) {
        record(blockQ(i), q, batch, c.numHeads(), tokens, c.headDim());
        record(blockK(i), k, batch, c.numHeads(), tokens, c.headDim());
    }

    public void blockAttn(int i, Supplier<float[]> probs) {
        record(blockAttn(i), probs, batch, c.numHeads(), tokens, tokens);
    }

    public void blockOut(int i, Supplier<float[]> x) {
        record(blockOut(i), x, batch, tokens, c.embedDim());
    }

    public void tokensNormed(Supplier<float[]> x) {
        record(TOKENS_NORMED, x, batch, tokens, c.embedDim());
    }

    /**
     * The result of the pass: (N, classes) logits and (N, D) pre-logits, which the engine hands over; copies go to
     * the trace when wanted, after everything else, so the keys are in forward order.
     */
    public InferenceEngine.Result result(float[] logits, float[] preLogits) {
        record(PRE_LOGITS, preLogits::clone, batch, c.embedDim());
        record(LOGITS, logits::clone, batch, c.numClasses());
        return new InferenceEngine.Result(Tensor.of(logits, batch, c.numClasses()),
                Tensor.of(preLogits, batch, c.embedDim()), tensors);
    }

    private void record(String key, Supplier<float[]> values, int... shape) {
        if (request.wants(key)) {
            Tensor t = Tensor.of(values.get(), shape);
            if (request.sink() != null) {
                request.sink().accept(key, t);
            } else {
                tensors.put(key, t);
            }
        }
    }
}
