package dev.vitjava.engine.cpu;

import java.io.IOException;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.reflect.Array;
import java.nio.Buffer;
import java.lang.ref.Reference;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Drops the resident pages of memory-mapped checkpoint tensors once the engine has packed them, so the peak resident
 * memory of loading is about one copy of the weights instead of two (mapped + packed).
 *
 * <p>This is {@code madvise(MADV_DONTNEED)} on the whole pages inside a tensor's buffer, done only where it cannot
 * change any data: on Linux, for a direct buffer that lies inside a <em>shared, file-backed</em> mapping (as
 * {@code FileChannel.map(READ_ONLY)} makes), whose pages are simply read back from the page cache if the caller
 * touches the tensor again. Heap buffers, anonymous memory and private mappings are left alone. It needs native
 * access ({@code --enable-native-access=ALL-UNNAMED}, set by the {@code vit} launcher); without it this does
 * nothing, and nothing is printed.
 */
final class MappedPages {

    private static final int MADV_DONTNEED = 4;
    private static final long PAGE = 4096;
    /** {@code int madvise(long addr, long len, int advice)}, or null. */
    private static final MethodHandle MADVISE;
    /** {@code long address(Buffer)}: a direct buffer's address at its position. */
    private static final MethodHandle ADDRESS;

    static {
        MethodHandle[] h = handles();
        MADVISE = h == null ? null : h[0];
        ADDRESS = h == null ? null : h[1];
    }

    /** Shared file-backed mappings of this process: [start, end) pairs, read once per instance. */
    private final long[] ranges;

    private MappedPages(long[] ranges) {
        this.ranges = ranges;
    }

    /** A snapshot of the process's shared file mappings, or one that does nothing where madvise is unavailable. */
    static MappedPages snapshot() {
        if (MADVISE == null) {
            return new MappedPages(new long[0]);
        }
        List<Long> r = new ArrayList<>();
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/maps"))) {
                // start-end perms offset dev inode [path]
                String[] f = line.trim().split("\\s+", 6);
                if (f.length < 6 || f[1].length() < 4 || f[1].charAt(3) != 's' || !f[5].startsWith("/")
                        || f[5].endsWith("(deleted)") || f[5].startsWith("/dev/") || f[5].startsWith("/memfd:")) {
                    continue;
                }
                int dash = f[0].indexOf('-');
                r.add(Long.parseUnsignedLong(f[0].substring(0, dash), 16));
                r.add(Long.parseUnsignedLong(f[0].substring(dash + 1), 16));
            }
        } catch (IOException | RuntimeException e) {
            r.clear();
        }
        long[] a = new long[r.size()];
        for (int i = 0; i < a.length; i++) {
            a[i] = r.get(i);
        }
        return new MappedPages(a);
    }

    /** Releases the whole pages of {@code buf}'s remaining floats if they lie in a shared file mapping. */
    void release(FloatBuffer buf) {
        if (ranges.length == 0 || buf == null || !buf.isDirect() || !buf.isReadOnly()) {
            return;
        }
        try {
            long addr = (long) ADDRESS.invokeExact((Buffer) buf);
            long end = addr + (long) buf.remaining() * Float.BYTES;
            long from = (addr + PAGE - 1) & -PAGE;
            long to = end & -PAGE;
            if (to <= from || !inside(from, to)) {
                return;
            }
            int rc = (int) MADVISE.invokeExact(from, to - from, MADV_DONTNEED);
            released += rc == 0 ? to - from : 0;
        } catch (Throwable e) {
            // Only a memory-use optimisation: ignore.
        } finally {
            Reference.reachabilityFence(buf);
        }
    }

    /** Bytes released so far. */
    long released;

    private boolean inside(long from, long to) {
        for (int i = 0; i < ranges.length; i += 2) {
            if (Long.compareUnsigned(from, ranges[i]) >= 0 && Long.compareUnsigned(to, ranges[i + 1]) <= 0) {
                return true;
            }
        }
        return false;
    }

    /**
     * The foreign-function API by reflection (the project compiles for Java 21, where it is a preview API; from Java
     * 22 on it is final). The pointer argument is passed as a 64-bit integer, which the C ABIs of the 64-bit Linux
     * platforms treat the same way.
     */
    private static MethodHandle[] handles() {
        try {
            if (!System.getProperty("os.name", "").startsWith("Linux")
                    || !"64".equals(System.getProperty("sun.arch.data.model"))
                    || Boolean.getBoolean("vit.cpu.keepMapped")
                    || !(boolean) Module.class.getMethod("isNativeAccessEnabled").invoke(MappedPages.class.getModule())) {
                return null;
            }
            MethodHandles.Lookup lookup = MethodHandles.publicLookup();
            Class<?> linkerC = Class.forName("java.lang.foreign.Linker");
            Class<?> segC = Class.forName("java.lang.foreign.MemorySegment");
            Class<?> layoutC = Class.forName("java.lang.foreign.MemoryLayout");
            Class<?> valueC = Class.forName("java.lang.foreign.ValueLayout");
            Class<?> fdC = Class.forName("java.lang.foreign.FunctionDescriptor");
            Class<?> optionC = Class.forName("java.lang.foreign.Linker$Option");
            Object linker = linkerC.getMethod("nativeLinker").invoke(null);
            Object symbolLookup = linkerC.getMethod("defaultLookup").invoke(linker);
            java.util.Optional<?> sym = (java.util.Optional<?>) Class.forName("java.lang.foreign.SymbolLookup").getMethod("find", String.class)
                    .invoke(symbolLookup, "madvise");
            if (sym.isEmpty()) {
                return null;
            }
            Object i32 = valueC.getField("JAVA_INT").get(null);
            Object i64 = valueC.getField("JAVA_LONG").get(null);
            Object args = Array.newInstance(layoutC, 3);
            Array.set(args, 0, i64);
            Array.set(args, 1, i64);
            Array.set(args, 2, i32);
            Object fd = fdC.getMethod("of", layoutC, args.getClass()).invoke(null, i32, args);
            MethodHandle madvise = (MethodHandle) linkerC.getMethod("downcallHandle", segC, fdC,
                    Array.newInstance(optionC, 0).getClass())
                    .invoke(linker, sym.get(), fd, Array.newInstance(optionC, 0));
            MethodHandle ofBuffer = lookup.findStatic(segC, "ofBuffer", MethodType.methodType(segC, Buffer.class));
            MethodHandle address = lookup.findVirtual(segC, "address", MethodType.methodType(long.class));
            MethodHandle addressOf = MethodHandles.filterReturnValue(ofBuffer, address);
            return new MethodHandle[] {
                madvise.asType(MethodType.methodType(int.class, long.class, long.class, int.class)),
                addressOf.asType(MethodType.methodType(long.class, Buffer.class))};
        } catch (Throwable e) {
            return null;
        }
    }
}
