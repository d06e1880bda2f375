package dev.vitjava.image;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vitjava.checkpoint.Safetensors;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.ByteBuffer;
import java.nio.file.Path;

/**
 * Test resources under {@code /image}: the shared golden tensors made with PyTorch, and {@code expected.safetensors}
 * with the files in {@code formats/}, both made by PIL 9.4 (see {@code generator/generate.py}).
 */
final class TestData {

    static final ObjectMapper JSON = new ObjectMapper();

    private TestData() {
    }

    static Path resource(String name) {
        URL url = TestData.class.getResource("/image/" + name);
        if (url == null) {
            throw new IllegalStateException("missing test resource /image/" + name);
        }
        try {
            return Path.of(url.toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    static Path format(String file) {
        return resource("formats/" + file);
    }

    static Safetensors expected() {
        return Safetensors.open(resource("expected.safetensors"));
    }

    static JsonNode metadata(Safetensors st, String key) {
        try {
            return JSON.readTree(st.metadata().get(key));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static JsonNode json(String text) {
        try {
            return JSON.readTree(text);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static byte[] u8(Safetensors st, String name) {
        ByteBuffer b = st.bytes(name);
        byte[] out = new byte[b.remaining()];
        b.get(out);
        return out;
    }

    static float[] f32(Safetensors st, String name) {
        return st.tensor(name).toArray().clone();
    }

    /** Index of the first differing byte, or -1; a helpful message beats a 100 kB array dump. */
    static String diff(byte[] expected, byte[] actual) {
        if (expected.length != actual.length) {
            return "length " + actual.length + " != expected " + expected.length;
        }
        int count = 0;
        int first = -1;
        int max = 0;
        for (int i = 0; i < expected.length; i++) {
            int d = Math.abs((expected[i] & 0xff) - (actual[i] & 0xff));
            if (d != 0) {
                count++;
                max = Math.max(max, d);
                if (first < 0) {
                    first = i;
                }
            }
        }
        return count == 0 ? null : count + " of " + expected.length + " bytes differ (max " + max + ", first at "
                + first + ": " + (actual[first] & 0xff) + " != " + (expected[first] & 0xff) + ")";
    }

    static String diff(float[] expected, float[] actual) {
        if (expected.length != actual.length) {
            return "length " + actual.length + " != expected " + expected.length;
        }
        int count = 0;
        int first = -1;
        for (int i = 0; i < expected.length; i++) {
            if (Float.floatToRawIntBits(expected[i]) != Float.floatToRawIntBits(actual[i])) {
                count++;
                if (first < 0) {
                    first = i;
                }
            }
        }
        return count == 0 ? null : count + " of " + expected.length + " floats differ (first at " + first + ": "
                + actual[first] + " != " + expected[first] + ")";
    }
}
