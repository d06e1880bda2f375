package dev.vitjava.checkpoint;

import dev.vitjava.VitException;
import dev.vitjava.tensor.Tensor;
import dev.vitjava.model.ViTConfig;
import dev.vitjava.model.ViTWeights;
import dev.vitjava.model.ViTWeights.Linear;
import dev.vitjava.model.ViTWeights.Norm;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/** Fetches every canonical tensor, checks its shape against the config, and refuses leftovers. */
final class WeightMapper {
    private final TensorSource st;
    private final Naming.Detected naming;
    private final ViTConfig c;
    private final Set<String> used = new HashSet<>();

    WeightMapper(TensorSource st, Naming.Detected naming, ViTConfig config) {
        this.st = st;
        this.naming = naming;
        this.c = config;
    }

    ViTWeights map() {
        int d = c.embedDim();
        int p = c.patchSize();
        Linear patchEmbed = new Linear(get("patch_embed.proj.weight", d, c.inChans(), p, p),
                get("patch_embed.proj.bias", d));
        Tensor cls = c.classToken() ? get("cls_token", 1, 1, d).reshape(d) : null;
        Tensor pos = get("pos_embed", 1, c.numTokens(), d).reshape(c.numTokens(), d);
        List<ViTWeights.Block> blocks = new ArrayList<>();
        for (int i = 0; i < c.depth(); i++) {
            String b = "blocks." + i + ".";
            int h = c.mlpHidden();
            blocks.add(new ViTWeights.Block(
                    norm(b + "norm1", d),
                    new Linear(get(b + "attn.qkv.weight", 3 * d, d), c.qkvBias() ? get(b + "attn.qkv.bias", 3 * d) : null),
                    linear(b + "attn.proj", d, d),
                    norm(b + "norm2", d),
                    linear(b + "mlp.fc1", h, d),
                    linear(b + "mlp.fc2", d, h)));
        }
        boolean fcNorm = c.globalPool() == ViTConfig.GlobalPool.AVG && present("fc_norm.weight");
        Norm norm = fcNorm ? null : norm("norm", d);
        Norm fc = fcNorm ? norm("fc_norm", d) : null;
        Linear head = linear("head", c.numClasses(), d);
        List<String> unexpected = st.tensors().keySet().stream()
                .filter(k -> !used.contains(k) && !naming.isIgnorable(k)).toList();
        if (!unexpected.isEmpty()) {
            throw new VitException(st.path() + ": " + unexpected.size() + " unexpected tensor(s) for a "
                    + c.depth() + "-block ViT in " + naming.naming().id() + " naming: "
                    + String.join(", ", unexpected.subList(0, Math.min(4, unexpected.size())).stream()
                            .map(Checkpoints::shown).toList())
                    + (unexpected.size() > 4 ? ", ..." : ""));
        }
        return new ViTWeights(patchEmbed, cls, pos, blocks, norm, fc, head);
    }

    private boolean present(String canonical) {
        return naming.sources(canonical).stream().allMatch(st::contains);
    }

    private Norm norm(String name, int d) {
        return new Norm(get(name + ".weight", d), get(name + ".bias", d));
    }

    private Linear linear(String name, int out, int in) {
        return new Linear(get(name + ".weight", out, in), get(name + ".bias", out));
    }

    private Tensor get(String canonical, int... expected) {
        List<String> sources = naming.sources(canonical);
        for (String s : sources) {
            if (!st.contains(s)) {
                throw new VitException(st.path() + ": missing tensor '" + Checkpoints.shown(s) + "' (" + naming.naming().id()
                        + " naming, " + c.depth() + " blocks)");
            }
        }
        int[] shape = ModelLoader.shapeOf(st, naming, canonical);
        if (!Arrays.equals(shape, expected)) {
            throw new VitException(st.path() + ": tensor '" + Checkpoints.shown(String.join("+", sources)) + "' has shape "
                    + Arrays.toString(shape) + ", the config needs " + Arrays.toString(expected));
        }
        used.addAll(sources);
        if (sources.size() == 1) {
            return st.tensor(sources.get(0));
        }
        FloatBuffer joined = FloatBuffer.allocate((int) Tensor.numel(expected));
        for (String s : sources) {
            joined.put(st.tensor(s).data().duplicate().rewind());
        }
        return new Tensor(expected, joined.flip());
    }
}
