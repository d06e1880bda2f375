package dev.vitjava.engine;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Where the time of a forward pass went on the device, from the backend's profiler (all times in
 * nanoseconds).
 * JIT compilation happens when the engine builds an execution plan (once, unless a larger input needs a larger
 * plan), so it is reported on its own and is in none of the other numbers.
 *
 * @param device       the device, as the backend names it
 * @param runs         forward passes averaged (1 for a single pass's profile)
 * @param jitCompileNanos compiling every kernel of the plan that ran (TornadoVM's Graal JIT and the
 *                     driver's build), measured once when the plan was made
 * @param wallNanos    host wall-clock time of the forward, input and output copies included
 * @param kernelNanos  device time of all kernels (the sum of {@code kernels})
 * @param copyInNanos  host-to-device transfers: the pixels each call (weights only on a plan's first call,
 *                     which warm-up runs absorb)
 * @param copyOutNanos device-to-host transfers: the logits and pre-logits, plus the trace if asked for
 * @param bytesIn      bytes copied host to device
 * @param bytesOut     bytes copied device to host
 * @param dispatchNanos host time spent enqueueing kernels and transfers
 * @param kernels      device time of each kernel, in execution order
 */
public record DeviceProfile(
        String device,
        int runs,
        long jitCompileNanos,
        long wallNanos,
        long kernelNanos,
        long copyInNanos,
        long copyOutNanos,
        long bytesIn,
        long bytesOut,
        long dispatchNanos,
        List<Kernel> kernels) {

    public DeviceProfile {
        kernels = List.copyOf(kernels);
    }

    /**
     * One task of the plan.
     *
     * @param name   graph and task, e.g. {@code block3.fc1}
     * @param method the Java method TornadoVM compiled, e.g. {@code MatMul.linearGelu}
     * @param nanos  device time
     */
    public record Kernel(String name, String method, long nanos) {
    }

    /** Kernel time summed by method: where the time goes by kind of kernel. */
    public Map<String, Long> nanosByMethod() {
        Map<String, Long> out = new LinkedHashMap<>();
        for (Kernel k : kernels) {
            out.merge(k.method(), k.nanos(), Long::sum);
        }
        return out;
    }
}
