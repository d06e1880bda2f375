package dev.vitjava.tornado;

import dev.vitjava.VitException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import uk.ac.manchester.tornado.api.TornadoBackend;
import uk.ac.manchester.tornado.api.TornadoRuntime;
import uk.ac.manchester.tornado.api.common.TornadoDevice;
import uk.ac.manchester.tornado.api.enums.TornadoVMBackendType;
import uk.ac.manchester.tornado.api.runtime.TornadoRuntimeProvider;

/**
 * The TornadoVM backends and devices this JVM sees. Touches TornadoVM's classes, so only call it once
 * {@link TornadoEngineProvider#unavailableReason()} is empty.
 */
final class TornadoDevices {

    private TornadoDevices() {
    }

    private static TornadoRuntime runtime() {
        return TornadoRuntimeProvider.getTornadoRuntime();
    }

    /** Devices over all backends; starting the runtime if it is not yet. */
    static int count() {
        TornadoRuntime rt = runtime();
        int n = 0;
        for (int b = 0; b < rt.getNumBackends(); b++) {
            n += rt.getBackend(b).getNumDevices();
        }
        return n;
    }

    /** One map per device, for {@code vit devices}. */
    static List<Map<String, String>> list() {
        TornadoRuntime rt = runtime();
        TornadoDevice defaultDevice = rt.getDefaultDevice();
        List<Map<String, String>> out = new ArrayList<>();
        for (int b = 0; b < rt.getNumBackends(); b++) {
            TornadoBackend backend = rt.getBackend(b);
            for (int d = 0; d < backend.getNumDevices(); d++) {
                TornadoDevice device = backend.getDevice(d);
                Map<String, String> m = new LinkedHashMap<>();
                m.put("id", b + ":" + d);
                m.put("backend", String.valueOf(rt.getBackendType(b)));
                m.put("name", device.getPhysicalDevice().getDeviceName());
                m.put("platform", device.getPlatformName());
                m.put("type", String.valueOf(device.getDeviceType()));
                m.put("global_memory", bytes(device.getMaxGlobalMemory()));
                m.put("local_memory", bytes(device.getDeviceLocalMemorySize()));
                m.put("max_work_group", Arrays.toString(device.getPhysicalDevice().getDeviceMaxWorkGroupSize()));
                m.put("max_work_group_dims", Arrays.toString(device.getDeviceMaxWorkgroupDimensions()));
                m.put("compute_units", String.valueOf(device.getPhysicalDevice().getDeviceMaxComputeUnits()));
                m.put("default", String.valueOf(sameDevice(device, defaultDevice)));
                out.add(m);
            }
        }
        return out;
    }

    /**
     * The device named by a TornadoVM id {@code backend:device} (e.g. {@code 0:1}), or the default device for
     * null or blank.
     */
    static TornadoDevice select(String spec) {
        TornadoRuntime rt = runtime();
        if (spec == null || spec.isBlank()) {
            return rt.getDefaultDevice();
        }
        String[] parts = spec.trim().split(":");
        int backend;
        int device;
        try {
            if (parts.length != 2) {
                throw new NumberFormatException();
            }
            backend = Integer.parseInt(parts[0]);
            device = Integer.parseInt(parts[1]);
        } catch (NumberFormatException e) {
            throw new VitException("TornadoVM device '" + spec + "' is not of the form backend:device (e.g. 0:1); "
                    + "see vit devices");
        }
        if (backend < 0 || backend >= rt.getNumBackends()) {
            throw new VitException("TornadoVM device '" + spec + "': there is no backend " + backend + " ("
                    + rt.getNumBackends() + " backends; see vit devices)");
        }
        int devices = rt.getBackend(backend).getNumDevices();
        if (device < 0 || device >= devices) {
            throw new VitException("TornadoVM device '" + spec + "': backend " + backend + " has " + devices
                    + " devices (see vit devices)");
        }
        return rt.getBackend(backend).getDevice(device);
    }

    private static boolean sameDevice(TornadoDevice a, TornadoDevice b) {
        return a == b || b != null && a.getBackendIndex() == b.getBackendIndex()
                && a.getDeviceName().equals(b.getDeviceName());
    }

    /** The device's name as TornadoVM reports it. */
    static String name(TornadoDevice device) {
        return device.getPhysicalDevice().getDeviceName();
    }

    /**
     * Whether kernels on the device can read half floats: PTX devices can; an OpenCL device needs cl_khr_fp16
     * (its extensions are read through the driver's public OCLDevice class, which tornado-api does not expose).
     */
    static boolean supportsHalf(TornadoDevice device) {
        if (device.getTornadoVMBackend() == TornadoVMBackendType.PTX) {
            return true;
        }
        Object physical = device.getPhysicalDevice();
        try {
            Object extensions = physical.getClass().getMethod("getDeviceExtensions").invoke(physical);
            return String.valueOf(extensions).contains("cl_khr_fp16");
        } catch (ReflectiveOperationException | RuntimeException e) {
            return true; // unknown: let the kernel compiler decide
        }
    }

    /** Whether the device is a CPU (PoCL's, or another OpenCL CPU runtime): the kernels then take their CPU forms. */
    static boolean isCpu(TornadoDevice device) {
        return device.getDeviceType() == uk.ac.manchester.tornado.api.enums.TornadoDeviceType.CPU;
    }

    /** Largest work-group (work-items in total) the device accepts. */
    static long maxWorkGroup(TornadoDevice device) {
        long[] sizes = device.getPhysicalDevice().getDeviceMaxWorkGroupSize();
        return sizes == null || sizes.length == 0 ? Long.MAX_VALUE : sizes[0];
    }

    /** Local memory per work-group, in bytes. */
    static long localMemory(TornadoDevice device) {
        return device.getDeviceLocalMemorySize();
    }

    static String bytes(long v) {
        if (v < 1024) {
            return v + " B";
        }
        int z = (63 - Long.numberOfLeadingZeros(v)) / 10;
        return String.format(Locale.ROOT, "%.1f %siB", (double) v / (1L << (z * 10)), " KMGTPE".charAt(z));
    }
}
