package dev.vitjava.engine;

import dev.vitjava.tensor.Tensor;
import java.util.Collection;
import java.util.Set;
import java.util.function.BiConsumer;
import java.util.function.Predicate;

/**
 * Which intermediates a forward pass records, by {@link Trace} key. Engines skip the copies (and where they can, the
 * buffers) of keys nobody asked for, so a caller that wants the attention of a few blocks of a large model does not
 * hold every block's (N, heads, T, T) probabilities.
 */
public final class TraceRequest {

    /** Nothing: the fast path. */
    public static final TraceRequest NONE = new TraceRequest(key -> false);
    /** Every key the engine produces. */
    public static final TraceRequest ALL = new TraceRequest(key -> true);

    private final Predicate<String> keys;
    private final BiConsumer<String, Tensor> sink;

    private TraceRequest(Predicate<String> keys) {
        this(keys, null);
    }

    private TraceRequest(Predicate<String> keys, BiConsumer<String, Tensor> sink) {
        this.keys = keys;
        this.sink = sink;
    }

    /**
     * The keys {@code keys} accepts, handed to {@code sink} as they are recorded (in forward order, each block's
     * right after the block) instead of being kept in the result: the engine drops them after the call.
     */
    public static TraceRequest streaming(Predicate<String> keys, BiConsumer<String, Tensor> sink) {
        return new TraceRequest(keys, sink);
    }

    /** The keys {@code keys} accepts, e.g. {@code k -> k.equals(Trace.blockAttn(11))}. */
    public static TraceRequest of(Predicate<String> keys) {
        return new TraceRequest(keys);
    }

    /** Exactly these keys ({@link #NONE} when empty). */
    public static TraceRequest keys(Collection<String> keys) {
        if (keys.isEmpty()) {
            return NONE;
        }
        Set<String> set = Set.copyOf(keys);
        return new TraceRequest(set::contains);
    }

    public boolean wants(String key) {
        return keys.test(key);
    }

    /** Where recorded tensors go, or null: into the result's trace. */
    public BiConsumer<String, Tensor> sink() {
        return sink;
    }

    /** Whether nothing is asked for (then engines run their untraced path). */
    public boolean isNone() {
        return this == NONE;
    }
}
