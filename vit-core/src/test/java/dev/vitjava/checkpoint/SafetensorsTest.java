package dev.vitjava.checkpoint;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vitjava.VitException;
import dev.vitjava.tensor.Tensor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsTest {

    @TempDir
    Path dir;

    /** A file with the given JSON header and data section. */
    private Path file(String header, byte[] data) throws IOException {
        byte[] json = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + json.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(json.length).put(json).put(data);
        Path p = dir.resolve("t" + System.nanoTime() + ".safetensors");
        Files.write(p, b.array());
        return p;
    }

    private static void assertRejected(Path p, String fragment) {
        assertThatThrownBy(() -> Safetensors.open(p).close())
                .isInstanceOf(VitException.class)
                .hasMessageStartingWith(p.toString())
                .hasMessageContaining(fragment)
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
    }

    @Test
    void roundTripsFloat32() {
        Path p = dir.resolve("a.safetensors");
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        tensors.put("x", Tensor.of(new float[] {1.5f, -2f, 3.25f, 0f, 1e-8f, 7f}, 2, 3));
        tensors.put("y", Tensor.of(new float[] {42f}, 1));
        SafetensorsWriter.write(p, tensors, Map.of("k", "v"));
        try (Safetensors st = Safetensors.open(p)) {
            assertThat(st.entries().keySet()).containsExactly("x", "y");
            assertThat(st.metadata()).containsEntry("k", "v");
            assertThat(st.tensor("x").shape()).containsExactly(2, 3);
            assertThat(st.tensor("x").toArray()).containsExactly(1.5f, -2f, 3.25f, 0f, 1e-8f, 7f);
            assertThat(st.tensor("y").get(0)).isEqualTo(42f);
        }
    }

    @Test
    void convertsHalfAndBfloat16AndDouble() throws IOException {
        ByteBuffer data = ByteBuffer.allocate(2 * 2 + 2 * 2 + 8).order(ByteOrder.LITTLE_ENDIAN);
        data.putShort(Float.floatToFloat16(1.5f)).putShort(Float.floatToFloat16(-0.0999755859375f));
        data.putShort((short) (Float.floatToIntBits(3.140625f) >>> 16)).putShort((short) (Float.floatToIntBits(-2f) >>> 16));
        data.putDouble(0.25);
        Path p = file("{\"h\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]},"
                + "\"b\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[4,8]},"
                + "\"d\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[8,16]}}", data.array());
        try (Safetensors st = Safetensors.open(p)) {
            assertThat(st.tensor("h").toArray()).containsExactly(1.5f, -0.0999755859375f);
            assertThat(st.tensor("b").toArray()).containsExactly(3.140625f, -2f);
            assertThat(st.tensor("d").toArray()).containsExactly(0.25f);
        }
    }

    @Test
    void rejectsTruncatedFile() throws IOException {
        Path p = dir.resolve("short.safetensors");
        Files.write(p, new byte[] {1, 2, 3});
        assertRejected(p, "truncated");
    }

    @Test
    void rejectsHeaderLengthBeyondFile() throws IOException {
        Path p = dir.resolve("long.safetensors");
        ByteBuffer b = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(1000).putLong(0);
        Files.write(p, b.array());
        assertRejected(p, "header length 1000");
    }

    @Test
    void rejectsInvalidJsonAndNonObjects() throws IOException {
        assertRejected(file("{\"a\": [1, 2", new byte[0]), "not valid JSON");
        assertRejected(file("[1, 2, 3]", new byte[0]), "not a JSON object");
        assertRejected(file("{\"a\": 5}", new byte[0]), "not a JSON object");
    }

    @Test
    void rejectsBadEntries() throws IOException {
        assertRejected(file("{\"a\":{\"dtype\":\"Q7\",\"shape\":[1],\"data_offsets\":[0,4]}}", new byte[4]),
                "unknown dtype");
        assertRejected(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,16]}}", new byte[8]),
                "out of range");
        assertRejected(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", new byte[8]),
                "needs 12 bytes");
        assertRejected(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", new byte[4]),
                "bad shape");
        assertRejected(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4]}}", new byte[4]),
                "data_offsets");
        assertRejected(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", new byte[12]), "overlap");
    }

    @Test
    void rejectsNonFloatWeightsAndMissingTensors() throws IOException {
        Path p = file("{\"i\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]}}", new byte[8]);
        try (Safetensors st = Safetensors.open(p)) {
            assertThatThrownBy(() -> st.tensor("i")).isInstanceOf(VitException.class).hasMessageContaining("I64");
            assertThatThrownBy(() -> st.tensor("nope")).isInstanceOf(VitException.class)
                    .hasMessageContaining("missing tensor 'nope'");
        }
    }

    @Test
    void rejectsMissingFileAndDirectory() {
        assertRejected(dir.resolve("absent.safetensors"), "no such file");
        assertThatThrownBy(() -> Safetensors.open(dir)).isInstanceOf(VitException.class);
    }
}
