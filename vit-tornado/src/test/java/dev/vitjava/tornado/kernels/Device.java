package dev.vitjava.tornado.kernels;

import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import uk.ac.manchester.tornado.api.GridScheduler;
import uk.ac.manchester.tornado.api.TaskGraph;
import uk.ac.manchester.tornado.api.TornadoExecutionPlan;
import uk.ac.manchester.tornado.api.WorkerGrid;
import uk.ac.manchester.tornado.api.WorkerGrid1D;
import uk.ac.manchester.tornado.api.WorkerGrid2D;
import uk.ac.manchester.tornado.api.enums.DataTransferMode;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;

/** Runs one kernel on the default TornadoVM device, for the kernel tests. */
final class Device {

    private static final AtomicInteger GRAPHS = new AtomicInteger();

    private Device() {
    }

    /** A fresh task-graph name, so that every test compiles and runs its own graph. */
    static TaskGraph graph(Object... inputs) {
        return new TaskGraph("k" + GRAPHS.incrementAndGet()).transferToDevice(DataTransferMode.EVERY_EXECUTION,
                inputs);
    }

    /** Runs the graph's single task "t" on the given grid and copies the outputs back. */
    static void run(TaskGraph graph, WorkerGrid grid, FloatArray... outputs) {
        graph.transferToHost(DataTransferMode.EVERY_EXECUTION, (Object[]) outputs);
        GridScheduler scheduler = new GridScheduler(graph.getTaskGraphName() + ".t", grid);
        try (TornadoExecutionPlan plan = new TornadoExecutionPlan(graph.snapshot())) {
            plan.withGridScheduler(scheduler).execute();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    static WorkerGrid grid1D(int items, int local) {
        WorkerGrid grid = new WorkerGrid1D((items + local - 1) / local * local);
        grid.setLocalWork(local, 1, 1);
        return grid;
    }

    static WorkerGrid grid2D(int x, int y, int localX, int localY) {
        WorkerGrid grid = new WorkerGrid2D(x, y);
        grid.setLocalWork(localX, localY, 1);
        return grid;
    }

    static FloatArray random(Random random, int n, float scale) {
        FloatArray a = new FloatArray(n);
        for (int i = 0; i < n; i++) {
            a.set(i, (random.nextFloat() * 2 - 1) * scale);
        }
        return a;
    }

    static double maxAbsDiff(FloatArray actual, double[] expected) {
        double max = 0;
        for (int i = 0; i < expected.length; i++) {
            double d = Math.abs(actual.get(i) - expected[i]);
            if (!(d <= max)) {
                max = Double.isNaN(d) ? Double.POSITIVE_INFINITY : d;
            }
        }
        return max;
    }
}
