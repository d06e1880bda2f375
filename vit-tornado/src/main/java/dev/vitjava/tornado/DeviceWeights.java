package dev.vitjava.tornado;

import dev.vitjava.model.ViTConfig;
import dev.vitjava.model.ViTModel;
import dev.vitjava.model.ViTWeights;
import dev.vitjava.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;

/**
 * The model's parameters as TornadoVM arrays, made once per engine and shared by all its plans (each plan moves
 * them to the device once, {@code FIRST_EXECUTION}). Absent parameters become zeros of the right size (a
 * missing qkv bias), or stay null where the graph leaves the step out (norm, fc_norm).
 */
final class DeviceWeights {

    /** A linear layer: weight (out, in) row-major and bias (out). */
    record Linear(FloatArray weight, FloatArray bias, int out, int in) {
    }

    /** A LayerNorm's scale and shift. */
    record Norm(FloatArray weight, FloatArray bias) {
    }

    record Block(Norm norm1, Linear qkv, Linear proj, Norm norm2, Linear fc1, Linear fc2) {
    }

    final Linear patchEmbed;
    /** (D); zeros without a class token (never read then). */
    final FloatArray clsToken;
    final List<Block> blocks;
    final Norm norm;
    final Norm fcNorm;
    final Linear head;

    DeviceWeights(ViTModel model) {
        ViTConfig c = model.config();
        ViTWeights w = model.weights();
        patchEmbed = linear(w.patchEmbed());
        clsToken = w.clsToken() != null ? FloatArrays.of(w.clsToken()) : FloatArrays.zeros(c.embedDim());
        List<Block> list = new ArrayList<>();
        for (ViTWeights.Block b : w.blocks()) {
            list.add(new Block(norm(b.norm1()), linear(b.qkv()), linear(b.proj()), norm(b.norm2()), linear(b.fc1()),
                    linear(b.fc2())));
        }
        blocks = List.copyOf(list);
        norm = w.norm() != null ? norm(w.norm()) : null;
        fcNorm = w.fcNorm() != null ? norm(w.fcNorm()) : null;
        head = linear(w.head());
    }

    private static Linear linear(ViTWeights.Linear l) {
        Tensor bias = l.bias();
        FloatArray b = bias != null ? FloatArrays.of(bias) : FloatArrays.zeros(l.outFeatures());
        return new Linear(FloatArrays.of(l.weight()), b, l.outFeatures(), l.inFeatures());
    }

    private static Norm norm(ViTWeights.Norm n) {
        return new Norm(FloatArrays.of(n.weight()), FloatArrays.of(n.bias()));
    }
}
