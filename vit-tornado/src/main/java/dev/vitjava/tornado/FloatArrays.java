package dev.vitjava.tornado;

import java.nio.FloatBuffer;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;

/**
 * Copies between vit-core's tensors (heap or memory-mapped FloatBuffers) and TornadoVM's off-heap FloatArrays.
 * Element by element through FloatArray's accessors (the JIT makes these plain stores), so that the module needs
 * no java.lang.foreign, which is a preview API on JDK 21.
 */
final class FloatArrays {

    private static final int CHUNK = 1 << 14;

    private FloatArrays() {
    }

    /** A new FloatArray of n zeros. */
    static FloatArray zeros(int n) {
        FloatArray a = new FloatArray(n);
        a.init(0f);
        return a;
    }

    /** Copies the buffer's first {@code n} floats (absolute indices, any byte order) into the array. */
    static void copy(FloatBuffer src, FloatArray dst, int n) {
        if (src.hasArray()) {
            float[] array = src.array();
            int offset = src.arrayOffset();
            for (int i = 0; i < n; i++) {
                dst.set(i, array[offset + i]);
            }
            return;
        }
        float[] chunk = new float[Math.min(n, CHUNK)];
        for (int done = 0; done < n; done += chunk.length) {
            int len = Math.min(chunk.length, n - done);
            src.get(done, chunk, 0, len);
            for (int i = 0; i < len; i++) {
                dst.set(done + i, chunk[i]);
            }
        }
    }

    /** The array's first {@code n} values on the heap. */
    static float[] toHeap(FloatArray a, int n) {
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            out[i] = a.get(i);
        }
        return out;
    }
}
