package dev.vitjava.engine;

import dev.vitjava.VitException;
import dev.vitjava.model.ViTConfig;
import dev.vitjava.tensor.Tensor;

/** Checks of an input batch that every backend shares. */
public final class Inputs {

    private Inputs() {
    }

    /**
     * Validates (N, C, H, W) against the model and returns the patch grid {gh, gw}.
     *
     * @param attentionMaps whether the caller will hold the (heads, T, T) attention probabilities of an image,
     *                      which bounds the number of tokens
     */
    public static int[] check(ViTConfig c, Tensor pixels, boolean attentionMaps) {
        return check(c, pixels, attentionMaps, attentionMaps);
    }

    /**
     * {@link #check(ViTConfig, Tensor, boolean)} for an engine that holds one image's attention maps even without
     * a trace; {@code trace}: whether every block's maps and outputs are kept, which the heap must hold.
     */
    public static int[] check(ViTConfig c, Tensor pixels, boolean attentionMaps, boolean trace) {
        if (pixels.rank() != 4) {
            throw new VitException("input has shape " + pixels.shapeString() + ", expected 4 dimensions (N, C, H, W)");
        }
        if (pixels.dim(1) != c.inChans()) {
            throw new VitException("input has " + pixels.dim(1) + " channels " + pixels.shapeString()
                    + ", the model expects " + c.inChans());
        }
        return check(c, pixels.dim(0), pixels.dim(2), pixels.dim(3), attentionMaps, trace);
    }

    /** {@link #check(ViTConfig, Tensor, boolean, boolean)} for a batch of the model's channels, given by its size. */
    public static int[] check(ViTConfig c, int batch, int height, int width, boolean attentionMaps, boolean trace) {
        if (batch < 1) {
            throw new VitException("input batch is empty");
        }
        int p = c.patchSize();
        if (height <= 0 || width <= 0 || height % p != 0 || width % p != 0) {
            throw new VitException("input size " + height + "x" + width + " is not a multiple of the patch size " + p);
        }
        long tokens = c.numPrefixTokens() + (long) (height / p) * (width / p);
        if (attentionMaps && (double) c.numHeads() * tokens * tokens > Integer.MAX_VALUE - 8) { // double: no wrap
            throw new VitException("input " + height + "x" + width + " makes " + tokens
                    + " tokens, too many for the attention maps of " + c.numHeads() + " heads");
        }
        MemoryEstimate.checkForward(c, batch, (long) c.inChans() * height * width, tokens, attentionMaps, trace);
        return new int[] {height / p, width / p};
    }
}
