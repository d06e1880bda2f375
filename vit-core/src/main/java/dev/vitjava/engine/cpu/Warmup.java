package dev.vitjava.engine.cpu;

import dev.vitjava.engine.EngineOptions;
import dev.vitjava.engine.cpu.platform.CacheLines;
import dev.vitjava.engine.cpu.platform.CpuFlags;
import dev.vitjava.engine.cpu.platform.MappedPages;
import dev.vitjava.model.RandomWeights;
import dev.vitjava.model.ViTConfig;
import dev.vitjava.model.ViTModel;
import dev.vitjava.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Gets the JIT to compile the vector kernels before the first real forward pass. Vector API code runs orders of
 * magnitude slower interpreted or C1-compiled than C2-compiled, and HotSpot only compiles a method with C2 after
 * enough calls or loop iterations: left to itself, the first ViT-B/16 pass spends seconds getting there, and C2
 * code compiled from a partial profile is thrown away (deoptimised) when a new branch shows up.
 *
 * <p>So once per JVM this calls every kernel on tiny operands, through every branch, in rounds, until each runs at
 * compiled speed (each kernel class declares its calls and their compiled-speed bound next to the kernel, in a
 * {@code warmup()} method); then it runs a tiny two-block engine a few times, so the drivers around the kernels (the worker
 * pool, the GEMM and attention tasks, the engine's own loops) are compiled too. Results are discarded; only the
 * profiles and the compiled code matter. Once the tier thresholds have surely been met, more calls would only take
 * CPU from the compiler threads (the queue is then all that is left), so the rounds slow down to a few per
 * millisecond instead of spinning.
 *
 * <p>It runs on its own thread, started by {@link #start()} as early as the caller knows the cpu backend will be
 * used (the CLI does so before it parses its command line), so it overlaps the JVM's start-up, the model loading
 * and the packing; engines wait for it in {@link #ensure()} once they have packed their weights.
 */
final class Warmup {

    private static final AtomicBoolean STARTED = new AtomicBoolean();
    private static final CountDownLatch DONE = new CountDownLatch(1);
    private static volatile Throwable failure;

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

    /**
     * One kernel call on tiny operands, and a time per call that only C2-compiled code beats: interpreted or
     * C1-compiled Vector API code is 100-1000x slower than C2 code, which is 5-20x faster than that bound.
     * {@code afterKernel}: the call runs the GEMM micro-kernel, so it waits until that is compiled. Its long k loops
     * would otherwise push the kernel's loop counter past the on-stack-replacement threshold, and C2 would spend
     * 0.1-0.2 s on an OSR version nobody needs before it compiles the kernel itself.
     */
    record Step(String name, Runnable call, long compiledNanos, boolean afterKernel) {
    }

    /** Calls per step and round: long enough to time, short enough to stop soon after C2's code arrives. */
    private static final int BATCH = 8;
    /**
     * Rounds at full speed. With the launcher's thresholds (3 % of HotSpot's) the calls for C2 have been made by
     * then; with the defaults the slower rounds that follow make them, a little later.
     */
    private static final int FREE_ROUNDS = 12;
    /** Passes of the tiny engine: each calls the pool ~15 and the GEMM task ~40 times. */
    private static final int ENGINE_PASSES = 16;
    /** Stop waiting for compiled speed after this long (an overloaded machine): the engine works anyway. */
    private static final long MAX_NANOS = 4_000_000_000L;

    private static void run() {
        // Linking the foreign-function handles (alignment, page release) takes about 0.1 s: do it here, off the
        // thread that loads the model.
        CacheLines.known();
        MappedPages.available();
        long t0 = System.nanoTime();
        String kernels = converge(kernels(), t0 + MAX_NANOS);
        long t1 = System.nanoTime();
        // The drivers, with the kernels already compiled (so a pass costs about a millisecond).
        try (CpuEngine tiny = tinyEngine()) {
            Tensor pixels = RandomWeights.pixels(2, 1, 3, 32, 48);
            for (int i = 0; i < ENGINE_PASSES; i++) {
                sink = tiny.forward(pixels, i % 2 == 1).logits().data().get(0);
            }
        }
        if (CpuFlags.DEBUG) {
            System.err.printf("warmup: kernels %.0f ms (%s), engine %.0f ms%n", (t1 - t0) / 1e6, kernels,
                    (System.nanoTime() - t1) / 1e6);
        }
    }

    /**
     * Calls every step in rounds of {@link #BATCH} until it runs at compiled speed, or until the deadline. After
     * {@link #FREE_ROUNDS} rounds the thread sleeps twice as long as each round took. Step 0 is the kernel.
     * Returns the calls per step.
     */
    private static String converge(Step[] steps, long deadline) {
        int[] calls = new int[steps.length];
        boolean[] done = new boolean[steps.length];
        int pending = steps.length;
        for (int round = 1; pending > 0 && System.nanoTime() < deadline; round++) {
            long roundStart = System.nanoTime();
            for (int i = 0; i < steps.length; i++) {
                if (done[i] || steps[i].afterKernel && !done[0]) {
                    continue;
                }
                long s = System.nanoTime();
                for (int j = 0; j < BATCH; j++) {
                    steps[i].call.run();
                }
                calls[i] += BATCH;
                if (System.nanoTime() - s < BATCH * steps[i].compiledNanos) {
                    done[i] = true;
                    pending--;
                }
            }
            if (round > FREE_ROUNDS && pending > 0) {
                try {
                    Thread.sleep(Math.max(1, 2 * (System.nanoTime() - roundStart) / 1_000_000));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
        }
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < steps.length; i++) {
            b.append(i == 0 ? "" : ", ").append(steps[i].name).append(' ').append(calls[i])
                    .append(done[i] ? "" : " (not compiled)");
        }
        return b.toString();
    }

    /** Two blocks (a full one and the class-token one), one 64-dim head, 7 tokens, two workers. */
    private static CpuEngine tinyEngine() {
        ViTConfig c = new ViTConfig(32, 48, 16, 3, 10, 64, 2, 1, 128, true, 1e-6, true, ViTConfig.GlobalPool.TOKEN);
        return new CpuEngine(new ViTModel(c, RandomWeights.create(c, 1)), EngineOptions.defaults().withThreads(2),
                false);
    }

    /**
     * Every kernel's warm-up calls, declared next to each kernel (its {@code warmup()} method), in an order where
     * step 0 is the GEMM micro-kernel. A kernel class added to the engine adds its {@code warmup()} here.
     */
    private static Step[] kernels() {
        List<Step> steps = new ArrayList<>();
        steps.addAll(Gemm.warmup());
        steps.addAll(VectorMath.warmup());
        steps.addAll(Attention.warmup());
        return steps.toArray(new Step[0]);
    }

    /** Small values that vary from element to element, for warm-up operands. */
    static float[] fill(float[] a, float step) {
        for (int i = 0; i < a.length; i++) {
            a[i] = (i % 7 - 3) * step;
        }
        return a;
    }
}
