package dev.vitjava.tornado.kernels;

import dev.vitjava.VitException;

/**
 * The tile sizes of the GPU kernel forms ({@link MatMul#linear}, {@link MatMul#linearHalf}, {@link Attention#flash}),
 * which take them as int arguments: TornadoVM compiles the values of scalar arguments into the kernel it generates,
 * so within a plan they are constants (the local arrays are sized from them) and every linear layer still shares one
 * program, while another device can get other sizes.
 *
 * @param gemmX   work-items per GEMM work-group along the features; each computes 4, so a group covers 4·gemmX
 * @param gemmY   work-items per GEMM work-group along the rows; each computes 4
 * @param gemmK   depth of one GEMM step along the reduced dimension: the group stages gemmK × 4·gemmY of x and
 *                gemmK × 4·gemmX of W in local memory
 * @param flashQ  queries per flash-attention work-group, one per work-item
 * @param flashKv keys and values staged in local memory per flash-attention step
 */
public record Tiles(int gemmX, int gemmY, int gemmK, int flashQ, int flashKv) {

    /** The sizes measured on an NVIDIA H200 (docs/performance.md): 64×64 outputs per GEMM group, 64 queries, 32 keys. */
    public static final Tiles DEFAULT = new Tiles(16, 16, 16, 64, 32);

    public Tiles {
        if (!within(gemmX, 32) || !within(gemmY, 32) || !within(gemmK, 64) || !within(flashQ, 1024)
                || !within(flashKv, 256)) {
            throw new VitException("tile sizes " + gemmX + "x" + gemmY + "x" + gemmK + "," + flashQ + "x" + flashKv
                    + " out of range: GEMM work-groups of at most 32x32 work-items and steps of at most 64, flash "
                    + "groups of at most 1024 queries and steps of at most 256 keys");
        }
    }

    private static boolean within(int v, int max) {
        return v >= 1 && v <= max;
    }

    /** Work-items of a GEMM work-group. */
    public int gemmGroup() {
        return gemmX * gemmY;
    }

    /** Local memory of a GEMM work-group: its two staged slices, each k-row padded by one word. */
    public long gemmLocalBytes() {
        return Float.BYTES * (long) gemmK * (4L * gemmX + 1 + 4L * gemmY + 1);
    }

    /** Local memory of a flash-attention work-group at this head dimension: its staged keys and values. */
    public long flashLocalBytes(int headDim) {
        return Float.BYTES * 2L * flashKv * headDim;
    }

    /**
     * {@link #DEFAULT}, halved where a device cannot run it: GEMM work-groups of fewer work-items (gemmY first) and
     * flash groups of fewer queries while a group would exceed the device's work-group size, and fewer keys per flash
     * step, or a shallower GEMM step, while the staged tiles would take more than half its local memory. The
     * result is the same function, in smaller pieces.
     */
    public static Tiles fit(long maxWorkGroup, long localMemory, int headDim) {
        int x = DEFAULT.gemmX;
        int y = DEFAULT.gemmY;
        int k = DEFAULT.gemmK;
        int q = DEFAULT.flashQ;
        int kv = DEFAULT.flashKv;
        while ((long) x * y > maxWorkGroup && x * y > 1) {
            if (y >= x) {
                y /= 2;
            } else {
                x /= 2;
            }
        }
        while (q > maxWorkGroup && q > 1) {
            q /= 2;
        }
        while (new Tiles(x, y, k, q, kv).gemmLocalBytes() > localMemory / 2 && k > 1) {
            k /= 2;
        }
        while (new Tiles(x, y, k, q, kv).flashLocalBytes(headDim) > localMemory / 2 && kv > 1) {
            kv /= 2;
        }
        return new Tiles(x, y, k, q, kv);
    }

    /** Parses {@code GXxGYxGK,QxKV}, e.g. {@code 16x16x16,64x32} ({@link #DEFAULT}). */
    public static Tiles parse(String s) {
        String[] parts = s.trim().toLowerCase(java.util.Locale.ROOT).split(",");
        String[] gemm = parts[0].split("x");
        String[] flash = parts.length == 2 ? parts[1].split("x") : new String[0];
        if (gemm.length != 3 || flash.length != 2) {
            throw new VitException("tile sizes '" + s + "' are not GXxGYxGK,QxKV (e.g. 16x16x16,64x32)");
        }
        try {
            return new Tiles(Integer.parseInt(gemm[0].trim()), Integer.parseInt(gemm[1].trim()),
                    Integer.parseInt(gemm[2].trim()), Integer.parseInt(flash[0].trim()),
                    Integer.parseInt(flash[1].trim()));
        } catch (NumberFormatException e) {
            throw new VitException("tile sizes '" + s + "' are not GXxGYxGK,QxKV (e.g. 16x16x16,64x32)");
        }
    }

    @Override
    public String toString() {
        return gemmX + "x" + gemmY + "x" + gemmK + "," + flashQ + "x" + flashKv;
    }
}
