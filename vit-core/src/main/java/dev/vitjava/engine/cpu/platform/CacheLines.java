package dev.vitjava.engine.cpu.platform;

import java.lang.invoke.MethodHandle;

/**
 * Where a float array's elements start relative to 64-byte cache lines. A 512-bit load that straddles two lines
 * costs two accesses; the GEMM micro-kernel streams its weight panels with such loads, and a Java array starts
 * wherever the garbage collector put it (8-byte aligned), so panels used from index 0 would straddle on every load.
 * Measured on ViT-B/16: about 15 % of the whole forward pass. Arrays that feed vector loads are therefore allocated
 * with {@link #FLOATS} spare elements and used from {@link #offset(float[])}.
 *
 * <p>The address comes from a critical call of {@code memmove(a, a, 0)}, which returns its first argument (see
 * {@link Native}); without native access the offset is 0, which only costs speed. The GC may later move an array:
 * users that keep data in one re-check the offset before each use and move the data if it changed.
 */
public final class CacheLines {

    public static final int BYTES = 64;
    public static final int FLOATS = BYTES / Float.BYTES;

    private static final MethodHandle MEMMOVE = CpuFlags.UNALIGNED ? null
            : Native.function("memmove", long.class, float[].class, float[].class, long.class);

    private CacheLines() {
    }

    /** Elements from a[0] to the first one on a cache-line boundary, in [0, FLOATS); 0 where unknown. */
    public static int offset(float[] a) {
        if (MEMMOVE == null) {
            return 0;
        }
        try {
            long address = (long) MEMMOVE.invokeExact(a, a, 0L);
            return (int) ((-address & (BYTES - 1)) / Float.BYTES);
        } catch (Throwable e) {
            return 0;
        }
    }

    /** Whether offsets are known (else {@link #offset(float[])} is always 0). */
    public static boolean known() {
        return MEMMOVE != null;
    }
}
