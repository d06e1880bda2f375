package dev.vitjava.engine.cpu.platform;

import java.io.IOException;
import java.lang.invoke.MethodHandle;
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
 * access (see {@link Native}); without it this does nothing, and nothing is printed.
 */
public final class MappedPages {

    private static final int MADV_DONTNEED = 4;
    private static final long PAGE = 4096;
    /** {@code int madvise(long addr, long len, int advice)}, or null. */
    private static final MethodHandle MADVISE;
    /** {@code long address(Buffer)}: a direct buffer's address at its position. */
    private static final MethodHandle ADDRESS;

    static {
        boolean off = CpuFlags.KEEP_MAPPED;
        MADVISE = off ? null : Native.function("madvise", int.class, long.class, long.class, int.class);
        ADDRESS = MADVISE == null ? null : Native.bufferAddress();
    }

    /** Shared file-backed mappings of this process: [start, end) pairs, read once per instance. */
    private final long[] ranges;

    private MappedPages(long[] ranges) {
        this.ranges = ranges;
    }

    /** Whether pages can be released here (madvise linked, native access granted). */
    public static boolean available() {
        return ADDRESS != null;
    }

    /** One that releases nothing, for arrays that never come from a mapping. */
    public static MappedPages none() {
        return new MappedPages(new long[0]);
    }

    /** A snapshot of the process's shared file mappings, or one that does nothing where madvise is unavailable. */
    public static MappedPages snapshot() {
        if (!available()) {
            return none();
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
    public void release(FloatBuffer buf) {
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
    private long released;

    public long released() {
        return released;
    }

    private boolean inside(long from, long to) {
        for (int i = 0; i < ranges.length; i += 2) {
            if (Long.compareUnsigned(from, ranges[i]) >= 0 && Long.compareUnsigned(to, ranges[i + 1]) <= 0) {
                return true;
            }
        }
        return false;
    }
}
