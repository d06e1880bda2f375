package dev.vitjava.engine.cpu.platform;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.invoke.MethodHandle;
import org.junit.jupiter.api.Test;

class CacheLinesTest {

    /** Where native access is on (the build's test JVMs), on Linux with Java 22+, offsets must be known. */
    private static void assumeNative() {
        assumeTrue(System.getProperty("os.name", "").startsWith("Linux") && Runtime.version().feature() >= 22,
                "needs the final foreign-function API on Linux");
    }

    @Test
    void offsetPutsAnElementOnACacheLine() throws Throwable {
        assumeNative();
        assertThat(CacheLines.known()).as("native access in the test JVM").isTrue();
        // memchr finds a marker byte by itself, so it checks the address arithmetic independently of memmove.
        MethodHandle memchr = Native.function("memchr", long.class, float[].class, int.class, long.class);
        MethodHandle memmove = Native.function("memmove", long.class, float[].class, float[].class, long.class);
        for (int n = 1; n < 200; n += 7) {
            float[] a = new float[n + CacheLines.FLOATS];
            int o = CacheLines.offset(a);
            assertThat(o).isBetween(0, CacheLines.FLOATS - 1);
            a[o] = Float.intBitsToFloat(0x7f7f7f7f);
            long start = (long) memmove.invokeExact(a, a, 0L);
            long marker = (long) memchr.invokeExact(a, 0x7f, (long) a.length * Float.BYTES);
            if (start != (long) memmove.invokeExact(a, a, 0L)) {
                continue; // the GC moved the array in between: nothing to compare
            }
            assertThat(marker - start).isEqualTo((long) o * Float.BYTES);
            assertThat(marker % CacheLines.BYTES).isZero();
        }
    }
}
