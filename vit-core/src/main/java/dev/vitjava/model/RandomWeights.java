package dev.vitjava.model;

import dev.vitjava.model.ViTWeights.Block;
import dev.vitjava.model.ViTWeights.Linear;
import dev.vitjava.model.ViTWeights.Norm;
import dev.vitjava.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

/**
 * Random but non-trivial weights for a config, like the golden cases': N(0, 1/fan_in) weights, small random
 * biases, LayerNorm scales 1 + 0.2·noise, tokens 0.5·noise, so attention is far from uniform. Used by
 * {@code vit bench --arch} and by tests; the same seed gives the same weights.
 */
public final class RandomWeights {

    private long nextSeed;

    private RandomWeights(long seed) {
        this.nextSeed = seed * 1_000_003L;
    }

    /** timm's layout: a final norm over all tokens, or for average pooling an {@code fc_norm} after it. */
    public static ViTWeights create(ViTConfig c, long seed) {
        boolean avg = c.globalPool() == ViTConfig.GlobalPool.AVG;
        return create(c, seed, !avg, avg);
    }

    /** With the final norm and the fc_norm chosen explicitly (any combination is a valid model). */
    public static ViTWeights create(ViTConfig c, long seed, boolean finalNorm, boolean fcNorm) {
        return new RandomWeights(seed).build(c, finalNorm, fcNorm);
    }

    /** Random normalised pixels of the given shape, N(0, 1): inputs for benchmarks and parity tests. */
    public static Tensor pixels(long seed, int... shape) {
        return new RandomWeights(seed).gaussian(1.0, shape);
    }

    private ViTWeights build(ViTConfig c, boolean finalNorm, boolean fcNorm) {
        int d = c.embedDim();
        int p = c.patchSize();
        int fanIn = c.inChans() * p * p;
        Linear patch = new Linear(gaussian(1 / Math.sqrt(fanIn), d, c.inChans(), p, p), gaussian(0.02, d));
        Tensor cls = c.classToken() ? gaussian(0.5, d) : null;
        Tensor pos = gaussian(0.5, c.numTokens(), d);
        List<Block> blocks = new ArrayList<>();
        for (int i = 0; i < c.depth(); i++) {
            blocks.add(new Block(norm(d),
                    new Linear(gaussian(1 / Math.sqrt(d), 3 * d, d), c.qkvBias() ? gaussian(0.02, 3 * d) : null),
                    linear(d, d), norm(d), linear(c.mlpHidden(), d), linear(d, c.mlpHidden())));
        }
        return new ViTWeights(patch, cls, pos, blocks, finalNorm ? norm(d) : null, fcNorm ? norm(d) : null,
                linear(c.numClasses(), d));
    }

    private Linear linear(int out, int in) {
        return new Linear(gaussian(1 / Math.sqrt(in), out, in), gaussian(0.02, out));
    }

    private Norm norm(int d) {
        Tensor w = gaussian(0.2, d);
        for (int i = 0; i < d; i++) {
            w.data().put(i, 1 + w.get(i));
        }
        return new Norm(w, gaussian(0.05, d));
    }

    /**
     * N(0, std²) values; each tensor has its own seed and is filled in parallel chunks of 64Ki, each chunk from its
     * own stream, so a ViT-B takes a fraction of a second and the same seed always gives the same weights.
     */
    private Tensor gaussian(double std, int... shape) {
        long tensorSeed = nextSeed++;
        float[] v = new float[(int) Tensor.numel(shape)];
        int chunk = 1 << 16;
        IntStream.range(0, (v.length + chunk - 1) / chunk).parallel().forEach(k -> {
            SplittableRandom r = new SplittableRandom(tensorSeed * 0x9E3779B97F4A7C15L + k);
            for (int i = k * chunk, end = Math.min(v.length, (k + 1) * chunk); i < end; i++) {
                v[i] = (float) (std * r.nextGaussian());
            }
        });
        return Tensor.of(v, shape);
    }
}
