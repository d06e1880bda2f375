package dev.vitjava.tornado;

import dev.vitjava.model.ViTModel;
import dev.vitjava.model.ViTWeights;
import dev.vitjava.tensor.Tensor;
import dev.vitjava.tornado.kernels.MatMul;
import java.util.List;
import java.util.function.Function;
import uk.ac.manchester.tornado.api.types.HalfFloat;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.HalfFloatArray;
import uk.ac.manchester.tornado.api.types.collections.VectorFloat8;

/**
 * The model's parameters as TornadoVM arrays, made once per engine and shared by all its plans (each plan moves
 * them to the device once, {@code FIRST_EXECUTION}).
 *
 * <p>The blocks' parameters of one kind lie concatenated, block after block, in one array ({@code qkv} holds every
 * block's qkv weight), so that one compiled block graph serves every block: the kernels pick the block's slice
 * with a layer index. With {@link Precision#FP16} the matrices of the blocks, the patch embedding and the head are
 * stored as half floats (the kernels accumulate in float32); biases and norms stay float32. For the CPU forms the
 * float32 matrices are stored as float8 vectors in groups of 8 features ({@link MatMul#cpuWeightIndex}). Absent
 * parameters become zeros of the right size (a missing qkv bias), or stay null where the graph leaves the step out
 * (norm, fc_norm).
 */
final class DeviceWeights {

    /** How the matrices are stored on the device. */
    enum Precision {
        FP32, FP16;

        static Precision parse(String s) {
            return switch (s == null ? "fp32" : s.trim().toLowerCase(java.util.Locale.ROOT)) {
                case "fp32", "float32" -> FP32;
                case "fp16", "float16", "half" -> FP16;
                default -> throw new dev.vitjava.VitException("unknown precision '" + s + "' (expected fp32 or fp16)");
            };
        }
    }

    /**
     * A matrix of one or more layers: exactly one of {@code f32} and {@code f16}, (layers·out, in) row-major, and
     * {@code cpu}, {@link MatMul#linearCpu}'s float8 layout, is set.
     */
    record Matrix(FloatArray f32, HalfFloatArray f16, VectorFloat8 cpu, int out, int in) {
        Object array() {
            return f32 != null ? f32 : f16 != null ? f16 : cpu;
        }
    }

    /** A linear layer (or the same layer of every block): weight and bias (layers·out). */
    record Linear(Matrix weight, FloatArray bias) {
        int out() {
            return weight.out();
        }

        int in() {
            return weight.in();
        }
    }

    /** A LayerNorm's scale and shift (layers·dim). */
    record Norm(FloatArray weight, FloatArray bias) {
    }

    final Precision precision;
    /** Matrices in {@link MatMul#linearCpu}'s layout, for the kernels' CPU forms. */
    final boolean cpuForms;
    final Linear patchEmbed;
    /** Every block's parameters, concatenated per kind. */
    final Norm norm1;
    final Linear qkv;
    final Linear proj;
    final Norm norm2;
    final Linear fc1;
    final Linear fc2;
    final Norm norm;
    final Norm fcNorm;
    final Linear head;

    DeviceWeights(ViTModel model, Precision precision, boolean cpuForms) {
        this.precision = precision;
        this.cpuForms = cpuForms;
        ViTWeights w = model.weights();
        List<ViTWeights.Block> blocks = w.blocks();
        patchEmbed = linear(List.of(w.patchEmbed()));
        norm1 = norm(blocks, ViTWeights.Block::norm1);
        qkv = linear(blocks.stream().map(ViTWeights.Block::qkv).toList());
        proj = linear(blocks.stream().map(ViTWeights.Block::proj).toList());
        norm2 = norm(blocks, ViTWeights.Block::norm2);
        fc1 = linear(blocks.stream().map(ViTWeights.Block::fc1).toList());
        fc2 = linear(blocks.stream().map(ViTWeights.Block::fc2).toList());
        norm = w.norm() != null ? norm(List.of(w.norm()), n -> n) : null;
        fcNorm = w.fcNorm() != null ? norm(List.of(w.fcNorm()), n -> n) : null;
        head = linear(List.of(w.head()));
    }

    private Linear linear(List<ViTWeights.Linear> layers) {
        int out = layers.get(0).outFeatures();
        int in = layers.get(0).inFeatures();
        int perLayer = out * in;
        FloatArray bias = new FloatArray(layers.size() * out);
        bias.init(0f);
        FloatArray f32 = precision == Precision.FP32 && !cpuForms ? new FloatArray(layers.size() * perLayer) : null;
        HalfFloatArray f16 = precision == Precision.FP16 ? new HalfFloatArray(layers.size() * perLayer) : null;
        FloatArray cpu = cpuForms ? new FloatArray(layers.size() * in * MatMul.cpuVectors(out) * MatMul.CPU_LANES)
                : null;
        if (cpu != null) {
            cpu.init(0f); // the padding features
        }
        float[] chunk = new float[perLayer];
        for (int l = 0; l < layers.size(); l++) {
            Tensor weight = layers.get(l).weight();
            weight.data().get(0, chunk, 0, perLayer);
            int base = l * perLayer;
            for (int i = 0; i < perLayer; i++) {
                if (cpu != null) {
                    cpu.set(MatMul.cpuWeightIndex(l, i / in, i % in, out, in), chunk[i]);
                } else if (f32 != null) {
                    f32.set(base + i, chunk[i]);
                } else {
                    f16.set(base + i, new HalfFloat(chunk[i]));
                }
            }
            Tensor b = layers.get(l).bias();
            if (b != null) {
                for (int i = 0; i < out; i++) {
                    bias.set(l * out + i, b.get(i));
                }
            }
        }
        return new Linear(new Matrix(f32, f16, cpu != null ? new VectorFloat8(cpu) : null, out, in), bias);
    }

    private static <T> Norm norm(List<T> owners, Function<T, ViTWeights.Norm> get) {
        int dim = get.apply(owners.get(0)).weight().size();
        FloatArray weight = new FloatArray(owners.size() * dim);
        FloatArray bias = new FloatArray(owners.size() * dim);
        for (int l = 0; l < owners.size(); l++) {
            ViTWeights.Norm n = get.apply(owners.get(l));
            for (int i = 0; i < dim; i++) {
                weight.set(l * dim + i, n.weight().get(i));
                bias.set(l * dim + i, n.bias().get(i));
            }
        }
        return new Norm(weight, bias);
    }
}
