package dev.vitjava.checkpoint;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vitjava.tensor.Tensor;
import java.net.URISyntaxException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** torch.save archives written by PyTorch 2.13 (scripts/make-fuzz-seeds.py): dtypes, views, checkpoint dicts. */
class TorchCheckpointTest {

    private static Path seed(String name) {
        try {
            return Path.of(TorchCheckpointTest.class.getResource("FormatFuzzTestInputs/checkpoint/" + name).toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    private static float[] values(TensorSource s, String name) {
        Tensor t = s.tensor(name);
        return t.toArray();
    }

    @Test
    void stridedAndOffsetViewsAndEveryFloatStorage() {
        try (TensorSource s = Checkpoints.open(seed("views.pt"), false)) {
            assertThat(s.format()).isEqualTo("PyTorch zip pickle (torch.save)");
            // torch.arange(12.).reshape(3, 4).t(): a column-major view
            assertThat(s.info("w").shape()).containsExactly(4, 3);
            assertThat(values(s, "w")).containsExactly(0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11);
            // torch.arange(6.)[1:4]: an offset into a larger storage
            assertThat(values(s, "b")).containsExactly(1, 2, 3);
            assertThat(s.info("h").dtype()).isEqualTo(DType.F16);
            assertThat(values(s, "h")).containsExactly(0.5f, -1.25f);
            assertThat(s.info("bf").dtype()).isEqualTo(DType.BF16);
            assertThat(values(s, "bf")).containsExactly(1.5f, -2.25f, 3.0f);
            assertThat(s.info("d").dtype()).isEqualTo(DType.F64);
            assertThat(values(s, "d")).containsExactly(0.1f);
            assertThat(s.info("step").dtype()).isEqualTo(DType.I64);
            assertThat(s.info("step").shape()).isEmpty();
        }
    }

    @Test
    void trainingCheckpointStateDictIsFoundAndUnwrapped() {
        try (TensorSource s = Checkpoints.open(seed("training.pth"), false)) {
            assertThat(s.tensors()).containsOnlyKeys("patch_embed.proj.weight", "pos_embed", "head.bias");
            assertThat(s.notes()).anySatisfy(n -> assertThat(n).contains("weights from 'model'"))
                    .anySatisfy(n -> assertThat(n).contains("removed the 'module.' prefix from 3 keys"))
                    .anySatisfy(n -> assertThat(n).contains("argparse.Namespace"));
        }
    }
}
