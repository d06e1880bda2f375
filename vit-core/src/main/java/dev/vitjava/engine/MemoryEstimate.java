package dev.vitjava.engine;

import dev.vitjava.VitException;
import dev.vitjava.model.ViTConfig;

/**
 * A lower bound on what a model or a forward pass allocates, checked against the Java heap before allocating, so
 * that an absurd request (a 2-billion-class head, a batch of 100000, the attention maps of a 1024x1024 input)
 * ends in a one-line error instead of an OutOfMemoryError after minutes, or an int overflow.
 */
public final class MemoryEstimate {

    /** The longest Java array. */
    private static final long MAX_ARRAY = Integer.MAX_VALUE - 8;

    private MemoryEstimate() {
    }

    /** Float32 weights of a model built in memory (random weights): every tensor an array. */
    public static void checkWeights(ViTConfig c) {
        // double arithmetic: the products of absurd sizes must not wrap around
        double d = c.embedDim();
        double largest = Math.max(Math.max(3 * d * d, d * c.mlpHidden()), Math.max((double) c.numClasses() * d,
                (double) c.numTokens() * d));
        if (largest > MAX_ARRAY) {
            throw new VitException("a tensor of " + (long) largest + " values is beyond Java's array size (num_classes "
                    + c.numClasses() + ", embed_dim " + c.embedDim() + ", mlp " + c.mlpHidden() + ")");
        }
        double params = c.depth() * (4 * d * d + 2 * d * c.mlpHidden() + 9 * d + c.mlpHidden())
                + c.numClasses() * (d + 1) + c.numTokens() * d + d * c.inChans() * c.patchSize() * c.patchSize();
        check(4 * params, "the model's weights");
    }

    /**
     * Activations of a forward pass of {@code batch} images of {@code tokens} tokens: the input, the token
     * buffers and MLP hidden layer, one image's attention maps if the engine holds them, and with a trace every
     * block's attention maps and outputs for every image.
     */
    public static void checkForward(ViTConfig c, long batch, long pixelsPerImage, long tokens, boolean attentionMaps,
            boolean trace) {
        double d = c.embedDim();
        double t = tokens;
        double perImage = pixelsPerImage + t * (6 * d + c.mlpHidden());
        double attention = c.numHeads() * t * t;
        if (trace) {
            perImage += c.depth() * (attention + t * d);
        }
        if ((double) batch * pixelsPerImage > MAX_ARRAY) {
            throw new VitException("a batch of " + batch + " images of " + pixelsPerImage + " values is beyond Java's"
                    + " array size; use a smaller batch or input");
        }
        check(4 * (batch * perImage + (attentionMaps ? attention : 0)), "a batch of " + batch + " image(s) of "
                + tokens + " tokens" + (trace ? " with its trace" : ""));
    }

    private static void check(double bytes, String what) {
        Runtime rt = Runtime.getRuntime();
        long available = rt.maxMemory() - (rt.totalMemory() - rt.freeMemory());
        if (bytes > available) {
            throw new VitException(what + " needs at least " + mib(bytes) + " MiB, more than the "
                    + (available >> 20) + " MiB left in the Java heap (use a smaller --batch or input, or raise -Xmx"
                    + " in JAVA_OPTS)");
        }
    }

    private static long mib(double bytes) {
        return (long) Math.min(bytes / (1 << 20), Long.MAX_VALUE);
    }
}
