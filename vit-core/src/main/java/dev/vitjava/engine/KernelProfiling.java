package dev.vitjava.engine;

import dev.vitjava.model.Tensor;
import java.util.Optional;

/** An engine that can say how long its device kernels and transfers take (for {@code vit bench}). */
public interface KernelProfiling {

    /**
     * Runs {@code warmup} unprofiled forward passes (at least one: it builds and compiles the plan for this shape
     * and moves the weights), then {@code runs} profiled ones, and returns their averages.
     */
    DeviceProfile profile(Tensor pixels, int warmup, int runs);

    /** Whether every forward pass records a profile (TornadoVM's profiler costs a little on each call). */
    void setProfiling(boolean enabled);

    /** The profile of the last forward pass, if profiling was on for it. */
    Optional<DeviceProfile> lastProfile();
}
