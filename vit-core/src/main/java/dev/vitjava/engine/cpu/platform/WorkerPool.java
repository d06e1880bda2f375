package dev.vitjava.engine.cpu.platform;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

/**
 * A fixed set of platform threads, created once per engine, that run the tasks of one parallel region at a time.
 * The calling thread takes part as worker 0, so a pool of size 1 starts no thread at all. Tasks are handed out
 * dynamically, but every task writes its own disjoint part of the output in a fixed order, so results never depend
 * on which worker ran a task or on the number of workers.
 */
public final class WorkerPool implements AutoCloseable {

    /** One unit of a parallel region: {@code task} in [0, count), {@code worker} in [0, size) for scratch buffers. */
    @FunctionalInterface
    public interface Body {
        void run(int task, int worker);
    }

    /** How long a waiting thread spins before it parks (short: the machine may be shared). */
    private static final long SPIN_NANOS = 50_000;

    private final int size;
    private final Thread[] threads;
    private final AtomicInteger next = new AtomicInteger();
    private final AtomicInteger running = new AtomicInteger();
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    private volatile Body body;
    private volatile int count;
    private volatile long generation;
    private volatile boolean closed;
    private volatile Thread caller;

    public WorkerPool(int size, String name) {
        this.size = Math.max(1, size);
        this.threads = new Thread[this.size - 1];
        for (int i = 0; i < threads.length; i++) {
            int worker = i + 1;
            Thread t = new Thread(() -> loop(worker), name + "-" + worker);
            t.setDaemon(true);
            threads[i] = t;
            t.start();
        }
    }

    public int size() {
        return size;
    }

    /** Runs {@code body} for every task in [0, count) and returns when all are done; rethrows a task's failure. */
    public void run(int count, Body body) {
        if (count <= 0) {
            return;
        }
        if (threads.length == 0 || count == 1) {
            for (int t = 0; t < count; t++) {
                body.run(t, 0);
            }
            return;
        }
        if (closed) {
            throw new IllegalStateException("engine is closed");
        }
        this.caller = Thread.currentThread();
        this.body = body;
        this.count = count;
        next.set(0);
        running.set(threads.length);
        generation++; // volatile write publishes body, count and next
        for (Thread t : threads) {
            LockSupport.unpark(t);
        }
        work(0, body, count);
        long start = System.nanoTime();
        while (running.get() != 0) {
            if (System.nanoTime() - start < SPIN_NANOS) {
                Thread.onSpinWait();
            } else {
                LockSupport.parkNanos(this, 100_000);
            }
        }
        this.body = null;
        Throwable f = failure.getAndSet(null);
        if (f instanceof RuntimeException e) {
            throw e;
        }
        if (f instanceof Error e) {
            throw e;
        }
        if (f != null) {
            throw new IllegalStateException(f);
        }
    }

    private void work(int worker, Body b, int n) {
        try {
            for (int t = next.getAndIncrement(); t < n; t = next.getAndIncrement()) {
                b.run(t, worker);
            }
        } catch (Throwable e) {
            failure.compareAndSet(null, e);
            next.set(n); // let the others stop early
        }
    }

    private void loop(int worker) {
        long seen = 0;
        while (true) {
            long start = System.nanoTime();
            while (generation == seen && !closed) {
                if (System.nanoTime() - start < SPIN_NANOS) {
                    Thread.onSpinWait();
                } else {
                    LockSupport.park(this);
                }
            }
            if (closed) {
                return;
            }
            seen = generation;
            work(worker, body, count);
            if (running.decrementAndGet() == 0) {
                LockSupport.unpark(caller);
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        for (Thread t : threads) {
            LockSupport.unpark(t);
        }
        for (Thread t : threads) {
            try {
                t.join(1000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }
}
