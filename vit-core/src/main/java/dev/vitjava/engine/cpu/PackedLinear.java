package dev.vitjava.engine.cpu;

import dev.vitjava.engine.cpu.platform.CacheLines;
import dev.vitjava.engine.cpu.platform.MappedPages;
import dev.vitjava.engine.cpu.platform.WorkerPool;
import dev.vitjava.model.ViTWeights.Linear;
import dev.vitjava.tensor.Tensor;
import java.nio.FloatBuffer;
import java.util.Arrays;

/**
 * A linear layer's weight, repacked once at load into the layout the GEMM micro-kernel streams: panels of
 * {@link Gemm#NR} output columns, each panel k-major ({@code [k][NR]}), so one k step reads NR contiguous floats.
 * Output columns past {@code out} are zero, as is the bias there, so padded output columns stay exactly zero.
 *
 * <p>All layers of an engine share one large array ({@link Arena}): a single allocation goes straight to the old
 * generation, where many layer-sized arrays would be allocated young and copied by the collector (doubling the
 * resident memory while the model loads).
 */
final class PackedLinear {

    final int in;
    final int out;
    final int outPadded;
    final int panels;
    /** The shared array, and where this layer starts in the arena. */
    final float[] weight;
    private final Arena arena;
    private final int offset;
    final float[] bias;

    /**
     * Hands out slices of one array; size it with {@link #size(int, int)} first. The slices start on a cache line
     * ({@link CacheLines}): every panel is a whole number of lines, so every vector load of the kernel is aligned.
     */
    static final class Arena {
        private final float[] data;
        /** Where slice offset 0 lies in {@link #data}. */
        private int base;
        private int used;
        /** Releases the mapped pages of the packed source weights (see {@link MappedPages}). */
        final MappedPages mapped;

        Arena(long floats) {
            this(floats, MappedPages.snapshot());
        }

        /** An arena for weights that are never memory-mapped (training's packed copies and activations). */
        Arena(long floats, MappedPages mapped) {
            this.mapped = mapped;
            if (floats > Integer.MAX_VALUE - 2 * CacheLines.FLOATS) {
                throw new IllegalArgumentException("model too large for one packed array: " + floats + " floats");
            }
            this.data = new float[(int) floats + CacheLines.FLOATS];
            this.base = CacheLines.offset(data);
        }

        private int take(int n) {
            int at = used;
            used += n;
            return at;
        }

        /**
         * Moves the packed data back onto a cache-line boundary if the garbage collector has moved the array since
         * (rare: it is one large old-generation object). Not thread-safe: call it before a pass, not during one.
         */
        void align() {
            moveTo(CacheLines.offset(data));
        }

        void moveTo(int newBase) {
            if (newBase != base) {
                System.arraycopy(data, base, data, newBase, used);
                base = newBase;
            }
        }
    }

    /** Floats a packed (out, in) layer takes. */
    static long size(int out, int in) {
        long panels = (out + Gemm.NR - 1) / Gemm.NR;
        return panels * in * Gemm.NR;
    }

    private PackedLinear(int in, int out, Arena arena) {
        this.in = in;
        this.out = out;
        this.panels = (out + Gemm.NR - 1) / Gemm.NR;
        this.outPadded = panels * Gemm.NR;
        this.weight = arena.data;
        this.arena = arena;
        this.offset = arena.take(Math.multiplyExact(panels * in, Gemm.NR));
        this.bias = new float[outPadded];
    }

    /** Offset of a panel in {@link #weight}. */
    int panelOffset(int panel) {
        return arena.base + offset + panel * in * Gemm.NR;
    }

    /** Packs {@code layer}; the work is split over panels on {@code pool}. */
    static PackedLinear of(Linear layer, Arena arena, WorkerPool pool) {
        return of(layer.weight(), layer.bias(), layer.outFeatures(), layer.inFeatures(), arena, pool);
    }

    /** Packs a weight stored (out, in) row-major. */
    static PackedLinear of(Tensor weight, Tensor bias, int out, int in, Arena arena, WorkerPool pool) {
        PackedLinear p = new PackedLinear(in, out, arena);
        p.pack(weight.data(), bias == null ? null : bias.data(), pool);
        // The packed copy is all the engine needs: let the checkpoint's pages go as soon as each layer is packed,
        // so loading never holds both copies of the weights.
        arena.mapped.release(weight.data());
        return p;
    }

    /** A layer of the given size in an arena of its own, to be filled by {@link #pack} or {@link #packColumns}. */
    static PackedLinear empty(int out, int in) {
        return new PackedLinear(in, out, new Arena(size(out, in), MappedPages.none()));
    }

    /** (Re)packs a weight stored (out, in) row-major, and the bias (or zeros). */
    void pack(FloatBuffer w, FloatBuffer b, WorkerPool pool) {
        int nr = Gemm.NR;
        float[] dst = weight;
        float[][] blocks = new float[pool.size()][nr * in];
        pool.run(panels, (panel, worker) -> {
            float[] block = blocks[worker];
            int n0 = panel * nr;
            int valid = Math.min(nr, out - n0);
            w.get(n0 * in, block, 0, valid * in);
            if (valid < nr) {
                Arrays.fill(block, valid * in, nr * in, 0f);
            }
            int at = panelOffset(panel);
            for (int k = 0; k < in; k++) {
                for (int j = 0, src = k; j < nr; j++, src += in) {
                    dst[at++] = block[src];
                }
            }
        });
        if (b != null) {
            b.get(0, bias, 0, out);
        } else {
            Arrays.fill(bias, 0f);
        }
    }

    /**
     * Packs the transpose of a row-major (in, out) matrix {@code m} of row stride {@code ld}: a layer whose product
     * {@code A Wᵀ} is {@code A m}. Its k-major panels are slices of m's rows, so this is a plain copy. The bias is
     * zero.
     */
    void packColumns(float[] m, int ld, WorkerPool pool) {
        int nr = Gemm.NR;
        float[] dst = weight;
        pool.run(panels, (panel, worker) -> {
            int n0 = panel * nr;
            int valid = Math.min(nr, out - n0);
            int at = panelOffset(panel);
            for (int k = 0; k < in; k++, at += nr) {
                System.arraycopy(m, k * ld + n0, dst, at, valid);
                if (valid < nr) {
                    Arrays.fill(dst, at + valid, at + nr, 0f);
                }
            }
        });
        Arrays.fill(bias, 0f);
    }
}
