package dev.vitjava.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Optimizer details the golden two-step cases do not reach: clipping, unfreezing, schedules, augmentation. */
class OptimizerTest {

    private static Param.F64 param(String name, double[] value, double[] grad) {
        Param.F64 p = new Param.F64(name, new int[] {value.length}, value);
        System.arraycopy(grad, 0, p.grad, 0, grad.length);
        return p;
    }

    @Test
    void gradClipScalesAllGradientsByMaxNormOverTheirTotalNorm() {
        Param.F64 a = param("head.weight", new double[] {1, 2}, new double[] {3, 0});
        Param.F64 b = param("head.bias", new double[] {5}, new double[] {4});
        Optimizer sgd = new Optimizer(Optimizer.Settings.sgd(0, 0));
        double norm = sgd.step(List.of(a, b), 0, 0.5, 1.0);
        assertThat(norm).isEqualTo(5.0);
        double clip = 1.0 / (5.0 + 1e-6); // torch.nn.utils.clip_grad_norm_
        assertThat(a.value[0]).isCloseTo(1 - 0.5 * 3 * clip, within(1e-15));
        assertThat(a.value[1]).isEqualTo(2.0);
        assertThat(b.value[0]).isCloseTo(5 - 0.5 * 4 * clip, within(1e-15));
    }

    @Test
    void aParameterFirstTrainedAfterUnfreezingStartsWithEmptyState() {
        Param.F64 frozenFirst = param("blocks.0.norm1.weight", new double[] {1}, new double[] {0.5});
        Param.F64 always = param("head.bias", new double[] {1}, new double[] {0.5});
        Optimizer adamw = new Optimizer(Optimizer.Settings.adamw(0));
        adamw.step(List.of(frozenFirst, always), 1, 1e-3, 0);
        assertThat(frozenFirst.value[0]).isEqualTo(1.0);
        assertThat(adamw.state()).containsOnlyKeys("head.bias");
        adamw.step(List.of(frozenFirst, always), 0, 1e-3, 0);
        assertThat(adamw.state().get("head.bias").step).isEqualTo(2);
        assertThat(adamw.state().get("blocks.0.norm1.weight").step).isEqualTo(1);
        // a first Adam step moves by lr whatever the gradient (bias correction): 1 - 1e-3
        assertThat(frozenFirst.value[0]).isCloseTo(1 - 1e-3, within(1e-9));
    }

    @Test
    void schedulesWarmUpThenFollowTheirShape() {
        Schedule cosine = new Schedule(Schedule.Kind.COSINE, 0.1, 10, 110, 10, 1, 0.1);
        assertThat(cosine.at(0)).isCloseTo(0.01, within(1e-15));
        assertThat(cosine.at(9)).isCloseTo(0.1, within(1e-15));
        assertThat(cosine.at(10)).isCloseTo(0.1, within(1e-15));
        assertThat(cosine.at(60)).isCloseTo(0.05, within(1e-15));
        assertThat(cosine.at(110)).isCloseTo(0, within(1e-15));
        Schedule step = new Schedule(Schedule.Kind.STEP, 1, 0, 100, 10, 2, 0.5);
        assertThat(step.at(19)).isEqualTo(1.0);
        assertThat(step.at(20)).isEqualTo(0.5);
        assertThat(step.at(45)).isEqualTo(0.25);
    }

    @Test
    void randomResizedCropStaysWithinTorchvisionsAreaAndRatioRanges() {
        SplittableRandom rnd = new SplittableRandom(1);
        for (int t = 0; t < 1000; t++) {
            int[] box = Augmentation.randomResizedCrop(300, 451, rnd);
            int top = box[0], left = box[1], h = box[2], w = box[3];
            assertThat(top).isBetween(0, 300 - h);
            assertThat(left).isBetween(0, 451 - w);
            double area = (double) h * w / (300 * 451);
            assertThat(area).isBetween(0.07, 1.01);
            assertThat((double) w / h).isBetween(0.74, 1.35);
        }
        // a sliver: ten tries fail, the fallback crops the center to the widest allowed ratio
        assertThat(Augmentation.randomResizedCrop(10, 1000, new SplittableRandom(2))).containsExactly(0, 493, 10, 13);
    }
}
