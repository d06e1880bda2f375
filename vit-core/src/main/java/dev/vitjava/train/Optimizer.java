package dev.vitjava.train;

import dev.vitjava.VitException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * torch.optim.SGD and torch.optim.AdamW, element for element, with the per-parameter state PyTorch keeps. The
 * arithmetic is float64 whatever the parameter's precision (PyTorch's own float32 run lands within 1e-7 of it).
 *
 * <ul>
 *   <li>SGD: g ← grad + wd·p (coupled decay); the momentum buffer starts as the first g, then b ← μ b + g
 *       (dampening 0, not Nesterov); p ← p − lr·b.</li>
 *   <li>AdamW: p ← p − lr·wd·p (decoupled decay), m ← β₁ m + (1 − β₁) g, v ← β₂ v + (1 − β₂) g²,
 *       p ← p − lr / (1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + ε) (ε outside the square root).</li>
 * </ul>
 * A parameter gets state the first time it is trained, so one unfrozen later starts fresh, as in PyTorch when
 * its tensor first has a gradient.
 */
public final class Optimizer {

    public enum Kind { SGD, ADAMW }

    /** The hyper-parameters; betas and eps are AdamW's, momentum SGD's. */
    public record Settings(Kind kind, double momentum, double weightDecay, double beta1, double beta2, double eps) {
        public static Settings sgd(double momentum, double weightDecay) {
            return new Settings(Kind.SGD, momentum, weightDecay, 0.9, 0.999, 1e-8);
        }

        public static Settings adamw(double weightDecay) {
            return new Settings(Kind.ADAMW, 0, weightDecay, 0.9, 0.999, 1e-8);
        }
    }

    /**
     * One parameter's state: SGD's momentum buffer in {@code first}; AdamW's exp_avg and exp_avg_sq in
     * {@code first} and {@code second}, and its step count.
     */
    public static final class State {
        public final double[] first;
        public final double[] second;
        public long step;

        public State(double[] first, double[] second, long step) {
            this.first = first;
            this.second = second;
            this.step = step;
        }
    }

    private final Settings s;
    private final Map<String, State> state = new LinkedHashMap<>();

    public Optimizer(Settings settings) {
        this.s = settings;
    }

    public Settings settings() {
        return s;
    }

    /** The state by parameter name (for checkpoints), in the order parameters were first trained. */
    public Map<String, State> state() {
        return state;
    }

    /**
     * Updates every parameter not frozen by {@code frozenBlocks} from its gradient.
     *
     * @param gradClip the largest L2 norm of all gradients together (torch.nn.utils.clip_grad_norm_), or 0
     * @return the gradients' total L2 norm before clipping
     */
    public double step(List<Param> params, int frozenBlocks, double lr, double gradClip) {
        List<Param> trained = params.stream().filter(p -> !TrainingEngine.isFrozen(p.name(), frozenBlocks)).toList();
        double[][] grads = new double[trained.size()][];
        double sq = 0;
        for (int i = 0; i < grads.length; i++) {
            grads[i] = new double[trained.get(i).size()];
            trained.get(i).readGrad(grads[i]);
            for (double g : grads[i]) {
                sq += g * g;
            }
        }
        double norm = Math.sqrt(sq);
        if (!Double.isFinite(norm)) {
            return norm;
        }
        // clip_grad_norm_: scale by max_norm / (norm + 1e-6) when that is below 1
        double clip = gradClip > 0 ? Math.min(1, gradClip / (norm + 1e-6)) : 1;
        for (int i = 0; i < grads.length; i++) {
            Param p = trained.get(i);
            double[] v = new double[p.size()];
            p.readValues(v);
            if (clip < 1) {
                for (int j = 0; j < v.length; j++) {
                    grads[i][j] *= clip;
                }
            }
            update(p.name(), v, grads[i], lr);
            p.writeValues(v);
        }
        return norm;
    }

    private void update(String name, double[] p, double[] g, double lr) {
        double wd = s.weightDecay();
        if (s.kind() == Kind.SGD) {
            if (wd != 0) {
                for (int j = 0; j < p.length; j++) {
                    g[j] += wd * p[j];
                }
            }
            if (s.momentum() != 0) {
                State st = state.get(name);
                if (st == null) {
                    state.put(name, new State(g.clone(), null, 1));
                } else {
                    checkSize(name, st.first, p);
                    for (int j = 0; j < p.length; j++) {
                        st.first[j] = s.momentum() * st.first[j] + g[j];
                    }
                    g = st.first;
                    st.step++;
                }
            }
            for (int j = 0; j < p.length; j++) {
                p[j] -= lr * g[j];
            }
            return;
        }
        State st = state.computeIfAbsent(name, k -> new State(new double[p.length], new double[p.length], 0));
        checkSize(name, st.first, p);
        st.step++;
        double b1 = s.beta1();
        double b2 = s.beta2();
        double bc1 = 1 - Math.pow(b1, st.step);
        double bc2Sqrt = Math.sqrt(1 - Math.pow(b2, st.step));
        double stepSize = lr / bc1;
        for (int j = 0; j < p.length; j++) {
            p[j] *= 1 - lr * wd;
            st.first[j] = b1 * st.first[j] + (1 - b1) * g[j];
            st.second[j] = b2 * st.second[j] + (1 - b2) * g[j] * g[j];
            double denom = Math.sqrt(st.second[j]) / bc2Sqrt + s.eps();
            p[j] -= stepSize * st.first[j] / denom;
        }
    }

    private static void checkSize(String name, double[] state, double[] p) {
        if (state.length != p.length) {
            throw new VitException("optimizer state of " + name + " has " + state.length + " values, the parameter "
                    + p.length);
        }
    }
}
