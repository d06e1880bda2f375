package dev.vitjava.model;

import dev.vitjava.model.ViTWeights.Block;
import dev.vitjava.model.ViTWeights.Linear;
import dev.vitjava.model.ViTWeights.Norm;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Random but non-trivial weights for a config, like the golden cases': N(0, 1/fan_in) weights, small random
 * biases, LayerNorm scales 1 + 0.2·noise, tokens 0.5·noise, so attention is far from uniform. Used by
 * {@code vit bench --arch} and by tests; the same seed gives the same weights.
 */
public final class RandomWeights {

    private final SplittableRandom random;

    private RandomWeights(long seed) {
        this.random = new SplittableRandom(seed);
    }

    public static ViTWeights create(ViTConfig c, long seed) {
        return new RandomWeights(seed).build(c);
    }

    private ViTWeights build(ViTConfig c) {
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
        boolean fcNorm = c.globalPool() == ViTConfig.GlobalPool.AVG;
        return new ViTWeights(patch, cls, pos, blocks, fcNorm ? null : norm(d), fcNorm ? norm(d) : null,
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

    private Tensor gaussian(double std, int... shape) {
        float[] v = new float[(int) Tensor.numel(shape)];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (random.nextGaussian() * std);
        }
        return Tensor.of(v, shape);
    }
}
