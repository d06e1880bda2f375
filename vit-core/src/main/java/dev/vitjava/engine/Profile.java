package dev.vitjava.engine;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Where the time of timed forward passes went, as far as the engine can tell ({@link InferenceEngine#profile}).
 *
 * @param wallNanos  host wall-clock time of each pass
 * @param stageNanos wall time per stage (e.g. {@code qkv}, {@code attention}) summed over the passes, in forward
 *                   order; empty where the engine does not time its stages
 * @param device     the device's own profile (kernels, transfers, JIT time), or null for host engines
 */
public record Profile(long[] wallNanos, Map<String, Long> stageNanos, DeviceProfile device) {

    public Profile {
        wallNanos = wallNanos.clone();
        stageNanos = Collections.unmodifiableMap(new LinkedHashMap<>(stageNanos));
    }

    /** The same passes with a stage breakdown or a device profile added. */
    public Profile with(Map<String, Long> stages, DeviceProfile deviceProfile) {
        return new Profile(wallNanos, stages, deviceProfile);
    }
}
