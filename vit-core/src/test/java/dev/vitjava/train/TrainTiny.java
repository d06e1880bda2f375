package dev.vitjava.train;

import dev.vitjava.checkpoint.ModelLoader;
import dev.vitjava.checkpoint.Safetensors;
import dev.vitjava.tensor.Tensor;
import dev.vitjava.model.ViTModel;
import java.net.URISyntaxException;
import java.nio.ByteBuffer;
import java.nio.file.Path;

/**
 * The golden training case {@code train/train_tiny} (copied from the shared golden data): the timm_tiny model, a
 * batch of 4, PyTorch's float64 gradients and the parameters after two SGD and AdamW steps.
 */
public final class TrainTiny {

    private TrainTiny() {
    }

    public static Path resource(String name) {
        try {
            return Path.of(TrainTiny.class.getResource("/train/train_tiny/" + name).toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    public static ViTModel model() {
        return ModelLoader.load(resource("model.safetensors"), new ModelLoader.Options(null, 4)).model();
    }

    public static Safetensors golden() {
        return Safetensors.open(resource("golden.safetensors"));
    }

    public static Tensor pixels(Safetensors g) {
        return g.tensor("pixel_values");
    }

    public static int[] labels(Safetensors g) {
        ByteBuffer b = g.bytes("labels");
        int[] out = new int[b.remaining() / 8];
        for (int i = 0; i < out.length; i++) {
            out[i] = (int) b.getLong(8 * i);
        }
        return out;
    }

    public static double[] f64(Safetensors g, String name) {
        return g.doubles(name);
    }

    /** max |a − b| / max(1e-3, max |b|): error relative to the tensor's scale. */
    public static double relError(double[] a, double[] b) {
        double scale = 1e-3;
        double err = 0;
        for (int i = 0; i < b.length; i++) {
            scale = Math.max(scale, Math.abs(b[i]));
            err = Math.max(err, Math.abs(a[i] - b[i]));
        }
        return err / scale;
    }
}
