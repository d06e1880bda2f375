package dev.vitjava.checkpoint;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vitjava.VitException;
import dev.vitjava.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Choosing the reader by content, and finding a model's files. */
class CheckpointsTest {

    @TempDir
    Path dir;

    /**
     * A safetensors file whose header length starts with the byte 0x80, like a pickle's first byte (found when
     * the sharded fixture's first shard was refused as a pickle).
     */
    @Test
    void safetensorsWhoseLengthLooksLikeAPickleIsSafetensors() throws IOException {
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        for (int n = 1; ; n++) {
            tensors.put("t" + n, Tensor.of(new float[] {n}, 1));
            Path p = dir.resolve("a.safetensors");
            SafetensorsWriter.write(p, tensors, Map.of());
            if ((Files.readAllBytes(p)[0] & 0xff) == 0x80) {
                try (TensorSource s = Checkpoints.open(p, false)) {
                    assertThat(s.format()).isEqualTo("safetensors");
                    assertThat(s.tensors()).hasSize(n);
                }
                return;
            }
        }
    }

    @Test
    void barePicklesAndSingleArraysAreRefusedWithoutParsing() throws IOException {
        Path pickle = dir.resolve("x.bin");
        Files.write(pickle, new byte[] {(byte) 0x80, 2, 'N', '.'});
        assertThatThrownBy(() -> Checkpoints.open(pickle, false)).isInstanceOf(VitException.class)
                .hasMessageContaining("a bare pickle");
        Path npy = dir.resolve("x.npy");
        Files.write(npy, new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, 0, 0});
        assertThatThrownBy(() -> Checkpoints.open(npy, false)).hasMessageContaining("a single .npy array");
    }

    @Test
    void emaOnlyForTorchCheckpoints() {
        Path p = dir.resolve("m.safetensors");
        SafetensorsWriter.write(p, Map.of("a", Tensor.of(new float[] {1}, 1)), Map.of());
        assertThatThrownBy(() -> Checkpoints.open(p, true)).hasMessageContaining("--ema");
    }

    @Test
    void hubCacheEntryResolvesToItsSnapshot() throws IOException {
        Path entry = dir.resolve("models--org--name");
        Path snapshot = Files.createDirectories(entry.resolve("snapshots").resolve("abc123"));
        Files.createDirectories(entry.resolve("refs"));
        Files.writeString(entry.resolve("refs").resolve("main"), "abc123\n");
        Files.writeString(snapshot.resolve("config.json"), "{}");
        Files.writeString(snapshot.resolve("pytorch_model.bin"), "x");
        ModelFiles files = ModelFiles.find(entry, null);
        assertThat(files.weights()).isEqualTo(snapshot.resolve("pytorch_model.bin"));
        assertThat(files.config()).isEqualTo(snapshot.resolve("config.json"));
        assertThat(files.preprocessor()).isNull();
    }

    @Test
    void directoryPrefersSafetensorsThenShardsThenPickles() throws IOException {
        Files.writeString(dir.resolve("pytorch_model.bin"), "x");
        Files.writeString(dir.resolve("model.safetensors.index.json"), "{}");
        assertThat(ModelFiles.find(dir, null).weights().getFileName()).hasToString("model.safetensors.index.json");
        Files.writeString(dir.resolve("model.safetensors"), "x");
        assertThat(ModelFiles.find(dir, null).weights().getFileName()).hasToString("model.safetensors");
    }

    @Test
    void severalCandidatesAreNamed() throws IOException {
        Files.writeString(dir.resolve("a.pth"), "x");
        Files.writeString(dir.resolve("b.npz"), "x");
        assertThatThrownBy(() -> ModelFiles.find(dir, null)).hasMessageContaining("a.pth, b.npz");
    }

    @Test
    void shardsMustLieBesideTheIndex() throws IOException {
        Path index = dir.resolve("model.safetensors.index.json");
        Files.writeString(index, "{\"weight_map\": {\"a\": \"../elsewhere.safetensors\"}}");
        assertThatThrownBy(() -> Checkpoints.open(index, false)).hasMessageContaining("not a file beside the index");
    }

    @Test
    void namesInMessagesStayOnOneLine() {
        assertThat(Checkpoints.shown("a\nb\u001b[31m")).isEqualTo("a\\nb\\x1b[31m");
        assertThat(Checkpoints.shown("x".repeat(300))).hasSize(103);
    }
}
