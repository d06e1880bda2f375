package dev.vitjava.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.vitjava.checkpoint.Safetensors;
import dev.vitjava.train.TrainingEngine.Input;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The float64 training oracle against PyTorch's float64 gradients and optimizer steps (golden train_tiny). */
class ReferenceTrainingTest {

    @Test
    void lossAndEveryGradientMatchPyTorch() {
        try (Safetensors g = TrainTiny.golden()) {
            ReferenceTraining engine = new ReferenceTraining(TrainTiny.model());
            var result = engine.step(Input.of(TrainTiny.pixels(g)), TrainTiny.labels(g), 0, Regularization.NONE, 0);
            assertThat(result.loss()).isCloseTo(TrainTiny.f64(g, "loss")[0], within(1e-12));
            assertThat(engine.parameters()).hasSize(32);
            for (Param p : engine.parameters()) {
                double[] grad = new double[p.size()];
                p.readGrad(grad);
                assertThat(TrainTiny.relError(grad, TrainTiny.f64(g, "grad." + p.name())))
                        .as(p.name()).isLessThan(1e-10);
            }
        }
    }

    @Test
    void twoSgdStepsWithTheFirstBlockFrozenMatchTorchOptim() {
        checkTwoSteps(Optimizer.Settings.sgd(0.9, 1e-4), 0.1, "sgd", 1.8358540402823043);
    }

    @Test
    void twoAdamwStepsWithTheFirstBlockFrozenMatchTorchOptim() {
        checkTwoSteps(Optimizer.Settings.adamw(0.05), 1e-3, "adamw", 1.7785303801334225);
    }

    private static void checkTwoSteps(Optimizer.Settings settings, double lr, String prefix, double secondLoss) {
        try (Safetensors g = TrainTiny.golden()) {
            ReferenceTraining engine = new ReferenceTraining(TrainTiny.model());
            engine.freeze(1);
            Optimizer opt = new Optimizer(settings);
            List<Param> params = engine.parameters();
            double[] losses = new double[2];
            for (int s = 0; s < 2; s++) {
                losses[s] = engine.step(Input.of(TrainTiny.pixels(g)), TrainTiny.labels(g), 0, Regularization.NONE, s)
                        .loss();
                opt.step(params, 1, lr, 0);
                engine.parametersChanged();
            }
            assertThat(losses[1]).isCloseTo(secondLoss, within(1e-12));
            for (Param p : params) {
                double[] v = new double[p.size()];
                p.readValues(v);
                double[] expected = TrainTiny.f64(g, prefix + "." + p.name());
                if (TrainingEngine.isFrozen(p.name(), 1)) {
                    assertThat(v).as(p.name()).containsExactly(expected);
                } else {
                    // AdamW divides by √v: a gradient that is ~0 turns rounding noise into 1e-11 of its step
                    assertThat(TrainTiny.relError(v, expected)).as(p.name()).isLessThan(1e-10);
                }
            }
        }
    }

    /**
     * With dropout, attention dropout and drop path on (masks are fixed by the step), label smoothing and the class
     * token pooled: the whole model's gradient of a random entry of every parameter against central differences.
     */
    @Test
    void wholeModelGradientsWithRegularisationMatchFiniteDifferences() {
        try (Safetensors g = TrainTiny.golden()) {
            ReferenceTraining engine = new ReferenceTraining(TrainTiny.model());
            Regularization reg = new Regularization(0.2, 0.1, 0.5, 7);
            Input in = Input.of(TrainTiny.pixels(g));
            int[] labels = TrainTiny.labels(g);
            engine.step(in, labels, 0.1, reg, 3);
            java.util.Random rnd = new java.util.Random(1);
            double h = 1e-6;
            for (Param param : engine.parameters()) {
                Param.F64 p = (Param.F64) param;
                double[] grad = p.grad.clone();
                int i = rnd.nextInt(p.size());
                double keep = p.value[i];
                p.value[i] = keep + h;
                double up = engine.step(in, labels, 0.1, reg, 3).loss();
                p.value[i] = keep - h;
                double down = engine.step(in, labels, 0.1, reg, 3).loss();
                p.value[i] = keep;
                double numeric = (up - down) / (2 * h);
                assertThat(grad[i]).as(p.name() + "[" + i + "]")
                        .isCloseTo(numeric, within(1e-7 + 1e-6 * Math.abs(numeric)));
            }
        }
    }
}
