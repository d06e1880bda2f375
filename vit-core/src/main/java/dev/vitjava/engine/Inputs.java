package dev.vitjava.engine;

import dev.vitjava.VitException;
import dev.vitjava.model.Tensor;
import dev.vitjava.model.ViTModel;

/** Checks of an input batch that every backend shares. */
public final class Inputs {

    private Inputs() {
    }

    /** Validates (N, C, H, W) against the model and returns the patch grid {gh, gw}. */
    public static int[] check(ViTModel model, Tensor pixels) {
        if (pixels.rank() != 4) {
            throw new VitException("input has shape " + pixels.shapeString() + ", expected 4 dimensions (N, C, H, W)");
        }
        if (pixels.dim(0) == 0) {
            throw new VitException("input batch is empty");
        }
        int channels = model.config().inChans();
        if (pixels.dim(1) != channels) {
            throw new VitException("input has " + pixels.dim(1) + " channels " + pixels.shapeString()
                    + ", the model expects " + channels);
        }
        return model.grid(pixels.dim(2), pixels.dim(3));
    }
}
