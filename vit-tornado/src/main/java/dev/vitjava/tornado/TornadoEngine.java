package dev.vitjava.tornado;

import dev.vitjava.VitException;
import dev.vitjava.engine.DeviceProfile;
import dev.vitjava.engine.EngineOptions;
import dev.vitjava.engine.InferenceEngine;
import dev.vitjava.engine.Inputs;
import dev.vitjava.engine.Profile;
import dev.vitjava.engine.Trace;
import dev.vitjava.engine.TraceRequest;
import dev.vitjava.model.ViTConfig;
import dev.vitjava.model.ViTModel;
import dev.vitjava.tensor.Tensor;
import dev.vitjava.tornado.kernels.Tiles;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Optional;
import uk.ac.manchester.tornado.api.common.TornadoDevice;

/**
 * The {@code tornado} backend: the ViT forward pass as TornadoVM kernels on an OpenCL, PTX or SPIR-V device
 * (see {@link ForwardPlan} for the task graphs). It computes the same function as the reference engine, in
 * float32 on the device (with {@code precision=fp16}, from half-precision weight matrices).
 *
 * <p>The weights are converted to TornadoVM arrays once. The engine holds one execution plan for calls without a
 * trace and one for traced calls, each built and JIT-compiled on first use; a plan runs every batch and image size
 * its buffers hold ({@link ForwardPlan.Capacity}), at the call's own size (so the last partial batch of
 * {@code classify} compiles nothing and runs no padding). A call that does not fit replaces the plan by one that
 * holds both shapes (the old one is released first): so the weights are on the device once per plan, whatever the
 * shapes. {@link #warmUp} does the compilation and the weights' upload before the first image. Calls are
 * serialised: one engine drives one device queue.
 */
public final class TornadoEngine implements InferenceEngine {

    private final ViTModel model;
    private final ViTConfig c;
    private final DeviceWeights weights;
    private final TornadoDevice device;
    private final TornadoSettings settings;
    /** The GPU kernel forms' tile sizes: the setting's, or the defaults fitted to the device's limits. */
    private final Tiles tiles;
    /** The plans for calls without a trace ([0]) and with one ([1]); null until needed. */
    private final ForwardPlan[] plans = new ForwardPlan[2];
    private boolean profiling;
    private DeviceProfile lastProfile;
    private boolean closed;
    private int compiled;

    private TornadoEngine(ViTModel model, EngineOptions options, TornadoSettings settings) {
        this.model = model;
        this.c = model.config();
        this.settings = settings;
        this.device = TornadoDevices.select(options == null ? null : options.setting(TornadoEngineProvider.DEVICE)
                .orElse(null));
        if (settings.precision() == DeviceWeights.Precision.FP16 && !TornadoDevices.supportsHalf(device)) {
            throw new VitException("TornadoVM device " + TornadoDevices.name(device) + " has no half-precision "
                    + "support (OpenCL cl_khr_fp16): use --precision fp32");
        }
        this.weights = new DeviceWeights(model, settings.precision(),
                settings.kernels().cpuForms(TornadoDevices.isCpu(device), settings.precision()));
        this.tiles = settings.tiles() != null ? settings.tiles()
                : Tiles.fit(TornadoDevices.maxWorkGroup(device), TornadoDevices.localMemory(device), c.headDim());
    }

    /**
     * Creates the engine (typed as the interface, so that callers need no TornadoVM class to link against).
     *
     * @param options the setting {@value TornadoEngineProvider#DEVICE} selects TornadoVM's {@code backend:device}
     *                (e.g. {@code 0:1}); without it, the default device; the others are {@link TornadoSettings}
     */
    public static InferenceEngine create(ViTModel model, EngineOptions options) {
        return open(model, options);
    }

    /** The engine as {@link TornadoEngine}, for tests and tools that want the profiling methods. */
    public static TornadoEngine open(ViTModel model, EngineOptions options) {
        return new TornadoEngine(model, options,
                TornadoSettings.from(options == null ? java.util.Map.of() : options.settings()));
    }

    @Override
    public String name() {
        return "tornado";
    }

    /** The tile sizes of the GPU kernel forms on this engine's device (the CPU forms have none). */
    public Tiles tiles() {
        return tiles;
    }

    /** The device the engine runs on, as TornadoVM names it. */
    public String deviceName() {
        return TornadoDevices.name(device);
    }

    @Override
    public synchronized Result forward(Tensor pixels, TraceRequest trace) {
        return forward(pixels, trace, profiling);
    }

    private Result forward(Tensor pixels, TraceRequest request, boolean profile) {
        checkOpen();
        int[] grid = Inputs.check(model.config(), pixels, !request.isNone());
        int batch = pixels.dim(0);
        Trace trace = new Trace(request, c, batch, grid[0], grid[1]);
        trace.posEmbed(model.posEmbed(grid[0], grid[1]));
        long start = System.nanoTime();
        ForwardPlan plan = plan(!request.isNone(), batch, grid[0] * grid[1]);
        List<DeviceProfile> graphs = profile ? new ArrayList<>() : null;
        ForwardPlan.Output out = plan.run(pixels, grid[0], grid[1], graphs, trace);
        long wall = System.nanoTime() - start;
        if (profile) {
            lastProfile = combine(plan.deviceName(), plan.compileNanos, wall, 1, graphs);
        }
        return trace.result(out.logits(), out.preLogits());
    }

    /**
     * Builds and compiles a plan that holds the shape, unless the engine has one that has run, and runs it once
     * ({@link ForwardPlan#warmUp}): that first execution moves the weights to the device and, on PoCL, makes the
     * OpenCL driver generate each kernel's work-group code (a second compilation step, at a kernel's first launch,
     * for each work-group size and grid class). Without it the first forward pass pays both.
     */
    @Override
    public synchronized void warmUp(int batch, int height, int width) {
        checkOpen();
        int[] grid = Inputs.check(c, batch, height, width, false, false);
        ForwardPlan plan = plan(false, batch, grid[0] * grid[1]);
        if (!plan.hasRun()) {
            plan.warmUp(batch, grid[0], grid[1]);
        }
    }

    private void checkOpen() {
        if (closed) {
            throw new VitException("the tornado engine is closed");
        }
    }

    /**
     * The plan for traced or untraced calls, if it holds the shape; else a plan that holds both its shapes and this
     * one, built and compiled now after the old plan has released the device memory.
     */
    private ForwardPlan plan(boolean trace, int batch, int patches) {
        int slot = trace ? 1 : 0;
        ForwardPlan plan = plans[slot];
        if (plan != null && plan.capacity.holds(batch, patches)) {
            return plan;
        }
        ForwardPlan.Capacity capacity = plan == null ? ForwardPlan.Capacity.of(batch, patches, trace)
                : plan.capacity.grownFor(batch, patches);
        if (plan != null) {
            plans[slot] = null;
            plan.close();
        }
        plans[slot] = new ForwardPlan(model, weights, capacity, device, settings, tiles);
        compiled++;
        return plans[slot];
    }

    /** Plans built (and JIT-compiled) so far. */
    synchronized int plansCompiled() {
        return compiled;
    }

    @Override
    public int threads() {
        return 0;
    }

    /**
     * The timed passes run without TornadoVM's profiler, which costs a little on each call; the device profile comes
     * from as many passes again with it.
     */
    @Override
    public synchronized Profile profile(Tensor pixels, int runs) {
        Profile timed = InferenceEngine.super.profile(pixels, runs);
        return timed.with(timed.stageNanos(), profileDevice(pixels, 0, runs));
    }

    /**
     * Runs {@code warmup} unprofiled forward passes (at least one: it builds and compiles the plan for this shape
     * and moves the weights), then {@code runs} profiled ones, and returns their averages.
     */
    public synchronized DeviceProfile profileDevice(Tensor pixels, int warmup, int runs) {
        if (runs < 1) {
            throw new VitException("profile needs at least one run");
        }
        for (int i = 0; i < Math.max(1, warmup); i++) {
            forward(pixels, TraceRequest.NONE, false);
        }
        List<DeviceProfile> each = new ArrayList<>();
        for (int i = 0; i < runs; i++) {
            forward(pixels, TraceRequest.NONE, true);
            each.add(lastProfile);
        }
        return combine(each.get(0).device(), each.get(0).jitCompileNanos(),
                each.stream().mapToLong(DeviceProfile::wallNanos).sum(), runs, each);
    }

    /** Whether every forward pass records a profile (TornadoVM's profiler costs a little on each call). */
    public synchronized void setProfiling(boolean enabled) {
        profiling = enabled;
    }

    /** The profile of the last forward pass, if profiling was on for it. */
    public synchronized Optional<DeviceProfile> lastProfile() {
        return Optional.ofNullable(lastProfile);
    }

    /**
     * The parts' counters summed and their kernels merged by name (in first-seen order), all divided by
     * {@code runs}: the graphs of one call (runs = 1; every task name is distinct) or the calls averaged by
     * {@link #profile}. {@code wallNanos} is the total over the runs.
     */
    private static DeviceProfile combine(String device, long jitNanos, long wallNanos, int runs,
            List<DeviceProfile> parts) {
        long kernel = 0;
        long in = 0;
        long out = 0;
        long bytesIn = 0;
        long bytesOut = 0;
        long dispatch = 0;
        LinkedHashMap<String, DeviceProfile.Kernel> merged = new LinkedHashMap<>();
        for (DeviceProfile p : parts) {
            kernel += p.kernelNanos();
            in += p.copyInNanos();
            out += p.copyOutNanos();
            bytesIn += p.bytesIn();
            bytesOut += p.bytesOut();
            dispatch += p.dispatchNanos();
            for (DeviceProfile.Kernel k : p.kernels()) {
                merged.merge(k.name(), k,
                        (a, b) -> new DeviceProfile.Kernel(a.name(), a.method(), a.nanos() + b.nanos()));
            }
        }
        List<DeviceProfile.Kernel> kernels = merged.values().stream()
                .map(k -> new DeviceProfile.Kernel(k.name(), k.method(), k.nanos() / runs)).toList();
        return new DeviceProfile(device, runs, jitNanos, wallNanos / runs, kernel / runs, in / runs, out / runs,
                bytesIn / runs, bytesOut / runs, dispatch / runs, kernels);
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        VitException failure = null;
        for (int i = 0; i < plans.length; i++) {
            try {
                if (plans[i] != null) {
                    plans[i].close();
                }
            } catch (VitException e) {
                failure = e;
            }
            plans[i] = null;
        }
        if (failure != null) {
            throw failure;
        }
    }
}
