package dev.vitjava.engine.cpu;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Gets the JIT to compile the vector kernels before the first real forward pass. Vector API code runs orders of
 * magnitude slower interpreted or C1-compiled than C2-compiled, and HotSpot only compiles a method with C2 after
 * thousands of calls or loop iterations: left to itself, the first ViT-B/16 pass spends seconds getting there, and
 * C2 code compiled from a partial profile is thrown away (deoptimised) when a new branch shows up. So once per JVM
 * this calls every kernel on tiny operands, through every branch, about as often as the tier thresholds ask.
 * Results are discarded; only the profiles and the compiled code matter.
 *
 * <p>It runs on its own thread, started by {@link #start()} as early as the caller knows the cpu backend will be
 * used (the CLI does so before it loads the model), so it overlaps the JVM's single-threaded start-up; engines wait
 * for it in {@link #ensure()}.
 */
final class Warmup {

    private static final AtomicBoolean STARTED = new AtomicBoolean();
    private static final CountDownLatch DONE = new CountDownLatch(1);
    private static volatile Throwable failure;
    private static final int L = VectorMath.L;

    private Warmup() {
    }

    /** Starts the warm-up on a daemon thread, once per JVM (later calls do nothing). */
    static void start() {
        if (!STARTED.compareAndSet(false, true)) {
            return;
        }
        Thread t = new Thread(() -> {
            try {
                run();
            } catch (Throwable e) {
                failure = e;
            } finally {
                DONE.countDown();
            }
        }, "vit-cpu-warmup");
        t.setDaemon(true);
        t.start();
    }

    /** Returns once the warm-up has run, starting it first if nobody did. */
    static void ensure() {
        start();
        boolean interrupted = false;
        while (DONE.getCount() > 0) {
            try {
                DONE.await();
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        if (failure != null) {
            throw new IllegalStateException("cpu engine warm-up failed", failure);
        }
    }

    /** A sink that keeps the JIT from dropping the warm-up work as dead. */
    static volatile float sink;

    private static void run() {
        // Linking the foreign-function handles (alignment, page release) takes about 0.1 s: do it here, off the
        // thread that loads the model.
        CacheLines.known();
        MappedPages.available();
        long t0 = System.nanoTime();
        int mr = Gemm.MR;
        int nr = Gemm.NR;
        int k = 12;
        float[] a = fill(new float[mr * k], 0.01f);
        float[] w = fill(new float[k * nr], 0.02f);
        float[] tile = fill(new float[mr * nr], 0.3f);
        float[] bias = fill(new float[nr], 0.1f);
        float[] c = new float[mr * nr];
        // Tier thresholds (defaults): C1 after ~200 calls, C2 after 5000 calls or 600 calls + 15000 loop trips.
        for (int i = 0; i < 2500; i++) {
            Gemm.kernel(a, 0, k, w, 0, k, tile);
        }
        long t1 = System.nanoTime();
        for (int i = 0; i < 800; i++) {
            int rows = 1 + i % mr;
            Gemm.store(tile, rows, c, 0, nr, bias, 0);
            Gemm.storeAdd(tile, rows, c, 0, nr, bias, 0);
            Gemm.storeGelu(tile, rows, c, 0, nr, bias, 0);
        }
        long t2 = System.nanoTime();
        float[] x = fill(new float[6 * L], 0.5f);
        float[] lnW = fill(new float[6 * L], 1f);
        float[] lnB = fill(new float[6 * L], 0f);
        float[] y = new float[6 * L];
        for (int i = 0; i < 1500; i++) {
            VectorMath.layerNorm(x, 0, i % 2 == 0 ? 5 * L + 3 : 5 * L, lnW, lnB, 1e-6f, y, 0);
            System.arraycopy(x, 0, y, 0, 6 * L);
            Attention.softmax(y, 0, i % 2 == 0 ? 5 * L + 3 : 5 * L);
        }
        long t3 = System.nanoTime();
        // One attention head (64 dims, as in every standard ViT) over 7 tokens: 2 query tiles, one full and one
        // partial, so every branch of head() and its vector helper (scaleInto) runs before the first real pass.
        int hd = 64;
        int tokens = 7;
        int ldq = 3 * hd;
        float[] qkv = fill(new float[(tokens + mr) * ldq], 0.03f);
        float[] out = new float[(tokens + mr) * hd];
        Attention.Scratch s = new Attention.Scratch();
        s.ensure(tokens, hd);
        for (int i = 0; i < 1500; i++) {
            Attention.head(s, qkv, ldq, out, hd, 0, 0, tokens, tokens, 1, hd, 0.125f, null);
        }
        long t4 = System.nanoTime();
        if (Boolean.getBoolean("vit.cpu.debug")) {
            System.err.printf("warmup: kernel %.0f ms, epilogues %.0f ms, norm+softmax %.0f ms, attention %.0f ms%n",
                    (t1 - t0) / 1e6, (t2 - t1) / 1e6, (t3 - t2) / 1e6, (t4 - t3) / 1e6);
        }
        sink = c[0] + y[0] + tile[0] + out[0];
    }

    private static float[] fill(float[] a, float step) {
        for (int i = 0; i < a.length; i++) {
            a[i] = (i % 7 - 3) * step;
        }
        return a;
    }
}
