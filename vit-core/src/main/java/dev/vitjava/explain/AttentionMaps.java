package dev.vitjava.explain;

import dev.vitjava.VitException;
import dev.vitjava.engine.Trace;
import dev.vitjava.engine.TraceRequest;
import dev.vitjava.tensor.Tensor;
import dev.vitjava.model.ViTConfig;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What {@code vit attention} keeps of one image's forward pass, fed key by key while the engine traces it, so no
 * block's (heads, T, T) probabilities outlive the block except those of the one block whose q·kᵀ is drawn:
 * <ul>
 *   <li>{@code cls_attn} (depth, heads, gh, gw): row 0 of each head's softmax, patch columns, on the patch grid;</li>
 *   <li>{@code rollout} (gh, gw): the {@link Rollout} mask;</li>
 *   <li>{@code q}, {@code k} (depth, heads, T, head_dim): queries and keys before the 1/√d scaling;</li>
 *   <li>{@code logits} (classes).</li>
 * </ul>
 */
public final class AttentionMaps {

    private final int depth;
    private final int heads;
    private final int headDim;
    private final int gh;
    private final int gw;
    private final int tokens;
    private final int keepBlock;
    private Rollout rollout;
    private float[] mask;
    private final float[] clsAttn;
    private final float[] q;
    private final float[] k;
    private float[] keptProbs;
    private float[] logits;
    private int blocksSeen;

    /**
     * @param keepBlock the block whose whole (heads, T, T) probabilities are kept for {@link #probs()}, or -1
     */
    public AttentionMaps(ViTConfig c, int gh, int gw, HeadFusion fusion, double discardRatio, int keepBlock) {
        requireClassToken(c);
        this.depth = c.depth();
        this.heads = c.numHeads();
        this.headDim = c.headDim();
        this.gh = gh;
        this.gw = gw;
        this.tokens = 1 + gh * gw;
        this.keepBlock = keepBlock;
        this.rollout = new Rollout(fusion, discardRatio, tokens);
        this.clsAttn = new float[depth * heads * gh * gw];
        this.q = new float[Math.multiplyExact(depth * heads * tokens, headDim)];
        this.k = new float[q.length];
    }

    /** Attention maps are those of the class token: a model without one has none to show. */
    public static void requireClassToken(ViTConfig c) {
        if (!c.classToken()) {
            throw new VitException("the model has no class token (global_pool avg, class_token false): its attention"
                    + " has no class-token row to show or roll out");
        }
    }

    /** The trace of a batch-1 forward pass, streamed into this block by block. */
    public TraceRequest request() {
        return TraceRequest.streaming(key -> {
            int i = Trace.blockOf(key);
            return key.equals(Trace.LOGITS) || i >= 0 && (key.equals(Trace.blockAttn(i)) || key.equals(Trace.blockQ(i))
                    || key.equals(Trace.blockK(i)));
        }, this::accept);
    }

    /** Takes one traced tensor of a batch-1 forward pass; the blocks' attention must come in block order. */
    public void accept(String key, Tensor t) {
        if (key.equals(Trace.LOGITS)) {
            logits = t.toArray().clone();
            return;
        }
        int block = Trace.blockOf(key);
        float[] values = t.toArray();
        int perBlock = heads * tokens * headDim;
        if (key.equals(Trace.blockQ(block))) {
            System.arraycopy(values, 0, q, block * perBlock, perBlock);
        } else if (key.equals(Trace.blockK(block))) {
            System.arraycopy(values, 0, k, block * perBlock, perBlock);
        } else if (key.equals(Trace.blockAttn(block))) {
            if (block != blocksSeen) {
                throw new IllegalStateException("block " + block + " traced after block " + (blocksSeen - 1));
            }
            int g = gh * gw;
            for (int h = 0; h < heads; h++) {
                System.arraycopy(values, h * tokens * tokens + 1, clsAttn, (block * heads + h) * g, g);
            }
            rollout.add(values, 0, heads);
            if (block == keepBlock) {
                keptProbs = values;
            }
            blocksSeen++;
        }
    }

    /** The maps, by the key names of {@code maps.safetensors}. */
    public Map<String, Tensor> tensors() {
        if (blocksSeen != depth || logits == null) {
            throw new IllegalStateException("trace incomplete: " + blocksSeen + " of " + depth + " blocks");
        }
        Map<String, Tensor> out = new LinkedHashMap<>();
        out.put("cls_attn", Tensor.of(clsAttn, depth, heads, gh, gw));
        if (mask == null) {
            mask = rollout.mask();
            rollout = null; // its depth × T² floats are not needed any more
        }
        out.put("rollout", Tensor.of(mask, gh, gw));
        out.put("q", Tensor.of(q, depth, heads, tokens, headDim));
        out.put("k", Tensor.of(k, depth, heads, tokens, headDim));
        out.put("logits", Tensor.of(logits, logits.length));
        return out;
    }

    /** The kept block's (heads, T, T) probabilities. */
    public float[] probs() {
        return keptProbs;
    }
}
