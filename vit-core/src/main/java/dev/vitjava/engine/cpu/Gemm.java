package dev.vitjava.engine.cpu;

import dev.vitjava.engine.cpu.platform.WorkerPool;
import java.util.List;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * C = epilogue(A W^T + bias) for activations A (rows, K) row-major and a {@link PackedLinear} W, with a
 * register-tiled micro-kernel: {@link #MR} rows x {@link #NR} columns ({@code NV} vectors) of accumulators,
 * one k step = NV vector loads of W, MR broadcasts of A and MR * NV fused multiply-adds.
 *
 * <p>Every output element is the sequential float sum over k of its products, then + bias, then the epilogue:
 * the same bits whatever the tiling, the thread count or the batch. A tile's rows past {@code rows} read
 * A rows that must exist (activation buffers have MR spare rows) but are never stored.
 */
final class Gemm {

    static final VectorSpecies<Float> S = VectorMath.S;
    static final int L = VectorMath.L;
    /** Rows of a register tile. */
    static final int MR = 6;
    /** Vectors per row of a register tile. */
    static final int NV = 4;
    /** Columns of a register tile and of a packed weight panel. */
    static final int NR = NV * L;

    /** Epilogue: store {@code acc + bias}. */
    static final int STORE = 0;
    /** Epilogue: store {@code gelu(acc + bias)}. */
    static final int GELU = 1;
    /** Epilogue: {@code c += acc + bias} (the residual connection). */
    static final int ADD = 2;

    /** Bytes of A per task: large, so each weight panel is fetched once and reused for many row tiles. */
    private static final int A_BLOCK_BYTES = 16 << 20;

    private Gemm() {
    }

    /**
     * c[r][n] = epilogue(sum_k a[r][k] w[n][k] + bias[n]) for r in [0, rows), n in [0, w.outPadded).
     * {@code a} must hold roundUp(rows, MR) rows of stride lda; {@code c} rows of stride ldc >= w.outPadded.
     */
    static void multiply(WorkerPool pool, float[] a, int lda, int rows, PackedLinear w, float[] c, int ldc, int mode) {
        int tiles = (rows + MR - 1) / MR;
        int tilesPerBlock = Math.max(1, Math.min(tiles, A_BLOCK_BYTES / (MR * w.in * Float.BYTES)));
        int blocks = (tiles + tilesPerBlock - 1) / tilesPerBlock;
        // Balance the blocks so the last one is not a sliver.
        tilesPerBlock = (tiles + blocks - 1) / blocks;
        int panels = w.panels;
        int perBlock = tilesPerBlock;
        pool.run(blocks * panels, (task, worker) -> {
            int block = task / panels;
            int panel = task % panels;
            int t0 = block * perBlock;
            int t1 = Math.min(tiles, t0 + perBlock);
            int wOff = w.panelOffset(panel);
            int col = panel * NR;
            float[] tile = tile();
            for (int t = t0; t < t1; t++) {
                int r0 = t * MR;
                kernel(a, r0 * lda, lda, w.weight, wOff, w.in, tile);
                epilogue(tile, Math.min(MR, rows - r0), c, r0 * ldc + col, ldc, w.bias, col, mode);
            }
        });
    }

    /**
     * The {@link Warmup} calls: the micro-kernel (first: other steps wait for it), then each epilogue; odd and even
     * calls take the other branch (partial tiles, vector tails).
     */
    static List<Warmup.Step> warmup() {
        int k = 12;
        float[] a = Warmup.fill(new float[MR * k], 0.01f);
        float[] w = Warmup.fill(new float[k * NR], 0.02f);
        float[] tile = Warmup.fill(new float[MR * NR], 0.3f);
        float[] bias = Warmup.fill(new float[NR], 0.1f);
        float[] c = new float[MR * NR];
        int[] n = new int[1];
        return List.of(
                new Warmup.Step("kernel", () -> kernel(a, 0, k, w, 0, k, tile), 1_000, false),
                new Warmup.Step("store", () -> store(tile, 1 + n[0]++ % MR, c, 0, NR, bias, 0), 1_000, false),
                new Warmup.Step("add", () -> storeAdd(tile, 1 + n[0]++ % MR, c, 0, NR, bias, 0), 1_000, false),
                new Warmup.Step("gelu", () -> storeGelu(tile, 1 + n[0]++ % MR, c, 0, NR, bias, 0), 2_000, false));
    }

    /**
     * One MR x NR tile of sums over the whole k range, into {@code tile} (MR rows of NR). Branch-free, so the JIT's
     * profile never misses a path; the epilogue is separate.
     */
    static void kernel(float[] a, int aOff, int lda, float[] w, int wOff, int k, float[] tile) {
        FloatVector z = FloatVector.zero(S);
        FloatVector c00 = z, c01 = z, c02 = z, c03 = z;
        FloatVector c10 = z, c11 = z, c12 = z, c13 = z;
        FloatVector c20 = z, c21 = z, c22 = z, c23 = z;
        FloatVector c30 = z, c31 = z, c32 = z, c33 = z;
        FloatVector c40 = z, c41 = z, c42 = z, c43 = z;
        FloatVector c50 = z, c51 = z, c52 = z, c53 = z;
        int a0 = aOff;
        int a1 = a0 + lda;
        int a2 = a1 + lda;
        int a3 = a2 + lda;
        int a4 = a3 + lda;
        int a5 = a4 + lda;
        for (int i = 0, wo = wOff; i < k; i++, wo += NR) {
            FloatVector b0 = FloatVector.fromArray(S, w, wo);
            FloatVector b1 = FloatVector.fromArray(S, w, wo + 1 * L);
            FloatVector b2 = FloatVector.fromArray(S, w, wo + 2 * L);
            FloatVector b3 = FloatVector.fromArray(S, w, wo + 3 * L);
            FloatVector x0 = FloatVector.broadcast(S, a[a0 + i]);
            c00 = x0.fma(b0, c00); c01 = x0.fma(b1, c01); c02 = x0.fma(b2, c02); c03 = x0.fma(b3, c03);
            FloatVector x1 = FloatVector.broadcast(S, a[a1 + i]);
            c10 = x1.fma(b0, c10); c11 = x1.fma(b1, c11); c12 = x1.fma(b2, c12); c13 = x1.fma(b3, c13);
            FloatVector x2 = FloatVector.broadcast(S, a[a2 + i]);
            c20 = x2.fma(b0, c20); c21 = x2.fma(b1, c21); c22 = x2.fma(b2, c22); c23 = x2.fma(b3, c23);
            FloatVector x3 = FloatVector.broadcast(S, a[a3 + i]);
            c30 = x3.fma(b0, c30); c31 = x3.fma(b1, c31); c32 = x3.fma(b2, c32); c33 = x3.fma(b3, c33);
            FloatVector x4 = FloatVector.broadcast(S, a[a4 + i]);
            c40 = x4.fma(b0, c40); c41 = x4.fma(b1, c41); c42 = x4.fma(b2, c42); c43 = x4.fma(b3, c43);
            FloatVector x5 = FloatVector.broadcast(S, a[a5 + i]);
            c50 = x5.fma(b0, c50); c51 = x5.fma(b1, c51); c52 = x5.fma(b2, c52); c53 = x5.fma(b3, c53);
        }
        c00.intoArray(tile, 0);
        c01.intoArray(tile, 1 * L);
        c02.intoArray(tile, 2 * L);
        c03.intoArray(tile, 3 * L);
        c10.intoArray(tile, 4 * L);
        c11.intoArray(tile, 5 * L);
        c12.intoArray(tile, 6 * L);
        c13.intoArray(tile, 7 * L);
        c20.intoArray(tile, 8 * L);
        c21.intoArray(tile, 9 * L);
        c22.intoArray(tile, 10 * L);
        c23.intoArray(tile, 11 * L);
        c30.intoArray(tile, 12 * L);
        c31.intoArray(tile, 13 * L);
        c32.intoArray(tile, 14 * L);
        c33.intoArray(tile, 15 * L);
        c40.intoArray(tile, 16 * L);
        c41.intoArray(tile, 17 * L);
        c42.intoArray(tile, 18 * L);
        c43.intoArray(tile, 19 * L);
        c50.intoArray(tile, 20 * L);
        c51.intoArray(tile, 21 * L);
        c52.intoArray(tile, 22 * L);
        c53.intoArray(tile, 23 * L);
    }

    /** Applies the epilogue {@code mode} to the first {@code rows} rows of {@code tile} and stores them into c. */
    static void epilogue(float[] tile, int rows, float[] c, int cOff, int ldc, float[] bias, int bOff, int mode) {
        switch (mode) {
            case GELU -> storeGelu(tile, rows, c, cOff, ldc, bias, bOff);
            case ADD -> storeAdd(tile, rows, c, cOff, ldc, bias, bOff);
            default -> store(tile, rows, c, cOff, ldc, bias, bOff);
        }
    }

    // One method per epilogue, so each is compiled from its own, complete profile.

    static void store(float[] tile, int rows, float[] c, int cOff, int ldc, float[] bias, int bOff) {
        for (int r = 0; r < rows; r++) {
            int o = cOff + r * ldc;
            for (int v = 0; v < NR; v += L) {
                FloatVector.fromArray(S, tile, r * NR + v).add(FloatVector.fromArray(S, bias, bOff + v))
                        .intoArray(c, o + v);
            }
        }
    }

    static void storeGelu(float[] tile, int rows, float[] c, int cOff, int ldc, float[] bias, int bOff) {
        for (int r = 0; r < rows; r++) {
            for (int v = 0; v < NR; v += L) {
                FloatVector.fromArray(S, tile, r * NR + v).add(FloatVector.fromArray(S, bias, bOff + v))
                        .intoArray(tile, r * NR + v);
            }
        }
        VectorMath.geluInPlace(tile, 0, rows * NR);
        for (int r = 0; r < rows; r++) {
            System.arraycopy(tile, r * NR, c, cOff + r * ldc, NR);
        }
    }

    static void storeAdd(float[] tile, int rows, float[] c, int cOff, int ldc, float[] bias, int bOff) {
        for (int r = 0; r < rows; r++) {
            int o = cOff + r * ldc;
            for (int v = 0; v < NR; v += L) {
                FloatVector x = FloatVector.fromArray(S, tile, r * NR + v).add(FloatVector.fromArray(S, bias, bOff + v));
                FloatVector.fromArray(S, c, o + v).add(x).intoArray(c, o + v);
            }
        }
    }

    /** Per-thread tiles. */
    private static final ThreadLocal<float[]> TILES = ThreadLocal.withInitial(() -> new float[MR * NR]);

    static float[] tile() {
        return TILES.get();
    }
}
