package dev.vitjava.tornado.kernels;

import uk.ac.manchester.tornado.api.types.arrays.IntArray;

/**
 * The sizes of one call (batch, patch grid, block index) in a small int array on the device, which every kernel of a
 * plan reads instead of taking them as int arguments: TornadoVM bakes the values of scalar arguments into the code it
 * generates, so with sizes as arguments each shape would be a compilation of its own. With them here, one compiled
 * plan runs every batch and image size its buffers hold. The model's own sizes (width, heads, patch size) stay
 * arguments: they never change.
 */
public final class Dims {

    /** The transformer block whose weights the block kernels read (0 elsewhere). */
    public static final int LAYER = 0;
    public static final int BATCH = 1;
    /** Tokens per image: prefix + patches. */
    public static final int TOKENS = 2;
    public static final int PATCHES = 3;
    public static final int GRID_W = 4;
    /** Image height and width in pixels. */
    public static final int HEIGHT = 5;
    public static final int WIDTH = 6;
    /** Rows of the token matrices: batch · tokens. */
    public static final int TOKEN_ROWS = 7;
    /** Rows of the patch matrix: batch · patches. */
    public static final int PATCH_ROWS = 8;

    private static final int SIZE = 9;

    private Dims() {
    }

    /** An array for the sizes of a call, to fill with {@link #set}. */
    public static IntArray create() {
        IntArray dims = new IntArray(SIZE);
        dims.init(0);
        return dims;
    }

    /** The sizes of a call on a batch of images of gridH × gridW patches of patch × patch pixels. */
    public static IntArray of(int batch, int gridH, int gridW, int patch, int prefix) {
        IntArray dims = create();
        set(dims, batch, gridH, gridW, patch, prefix);
        return dims;
    }

    /** Sets every size but {@link #LAYER}. */
    public static void set(IntArray dims, int batch, int gridH, int gridW, int patch, int prefix) {
        int patches = gridH * gridW;
        int tokens = prefix + patches;
        dims.set(BATCH, batch);
        dims.set(TOKENS, tokens);
        dims.set(PATCHES, patches);
        dims.set(GRID_W, gridW);
        dims.set(HEIGHT, gridH * patch);
        dims.set(WIDTH, gridW * patch);
        dims.set(TOKEN_ROWS, batch * tokens);
        dims.set(PATCH_ROWS, batch * patches);
    }
}
