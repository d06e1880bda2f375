package dev.vitjava.tornado;

import dev.vitjava.VitException;
import dev.vitjava.tornado.kernels.Tiles;
import java.util.Locale;
import java.util.Map;
import uk.ac.manchester.tornado.api.TornadoExecutionPlan;
import uk.ac.manchester.tornado.api.enums.TornadoVMBackendType;

/**
 * The tornado backend's own settings, by name (the CLI's {@code --precision}, {@code --fast-math}, …). Each is read
 * from the engine's settings map, else from the system property {@code vit.tornado.NAME} (so that a run can be
 * tuned with {@code JAVA_OPTS=-Dvit.tornado.precision=fp16} where no option reaches the engine), else its default.
 *
 * @param precision    how the weight matrices are stored on the device: fp32, or fp16 (float32 accumulation)
 * @param fastMath     OpenCL's {@code -cl-fast-relaxed-math} and {@code -cl-mad-enable} (TornadoVM's default);
 *                     off, the OpenCL compiler keeps IEEE float semantics
 * @param printKernels TornadoVM prints each generated kernel (OpenCL C or PTX)
 * @param threadInfo   TornadoVM prints each kernel's launch grid
 * @param cudaGraph    on PTX devices, the plan is captured and replayed as a CUDA graph
 * @param deviceMemory TornadoVM's device heap (e.g. "8GB"), or null for its default (4GB); it must be set before
 *                     TornadoVM starts
 * @param kernels      which forms of the GEMM and attention kernels run
 * @param tiles        the GPU forms' tile sizes ({@link Tiles#parse}), or null for the defaults fitted to the
 *                     device ({@link Tiles#fit})
 */
record TornadoSettings(DeviceWeights.Precision precision, boolean fastMath, boolean printKernels,
        boolean threadInfo, boolean cudaGraph, String deviceMemory, Kernels kernels, Tiles tiles) {

    static final String PRECISION = "precision";
    static final String FAST_MATH = "fast-math";
    static final String PRINT_KERNELS = "print-kernels";
    static final String THREAD_INFO = "thread-info";
    static final String CUDA_GRAPH = "cuda-graph";
    static final String DEVICE_MEMORY = "device-memory";
    static final String KERNELS = "kernels";
    static final String TILES = "tiles";

    /**
     * The kernel forms: {@code gpu}, the local-memory tiles ({@link dev.vitjava.tornado.kernels.MatMul#linear},
     * {@link dev.vitjava.tornado.kernels.Attention#flash}); {@code cpu}, the float8 forms without local memory
     * ({@code linearCpu}, {@code flashCpu}); {@code auto}, the CPU forms on devices of type CPU with float32 weights
     * and the GPU forms elsewhere. Forcing one compares the forms on a device, or corrects the table for a device
     * whose type says little (an FPGA, an integrated GPU).
     */
    enum Kernels {
        AUTO, GPU, CPU;

        static Kernels parse(String s) {
            return switch (s.trim().toLowerCase(Locale.ROOT)) {
                case "auto" -> AUTO;
                case "gpu" -> GPU;
                case "cpu" -> CPU;
                default -> throw new VitException("tornado setting " + KERNELS + ": '" + s
                        + "' is not auto, gpu or cpu");
            };
        }

        /** Whether the CPU forms run on this device with these weights. */
        boolean cpuForms(boolean cpuDevice, DeviceWeights.Precision precision) {
            if (this == CPU && precision == DeviceWeights.Precision.FP16) {
                throw new VitException("the cpu kernel forms have no half-precision weights: use --precision fp32, "
                        + "or --kernels gpu");
            }
            return this == CPU || this == AUTO && cpuDevice && precision == DeviceWeights.Precision.FP32;
        }
    }

    static TornadoSettings defaults() {
        return from(Map.of());
    }

    static TornadoSettings from(Map<String, String> settings) {
        return new TornadoSettings(DeviceWeights.Precision.parse(get(settings, PRECISION, "fp32")),
                flag(settings, FAST_MATH), flag(settings, PRINT_KERNELS), flag(settings, THREAD_INFO),
                flag(settings, CUDA_GRAPH), get(settings, DEVICE_MEMORY, null),
                Kernels.parse(get(settings, KERNELS, "auto")), tiles(get(settings, TILES, null)));
    }

    private static Tiles tiles(String s) {
        try {
            return s == null ? null : Tiles.parse(s);
        } catch (VitException e) {
            throw new VitException("tornado setting " + TILES + ": " + e.getMessage());
        }
    }

    private static String get(Map<String, String> settings, String name, String fallback) {
        String v = settings.get(name);
        return v != null ? v : System.getProperty("vit.tornado." + name, fallback);
    }

    private static boolean flag(Map<String, String> settings, String name) {
        String v = get(settings, name, "false").trim().toLowerCase(Locale.ROOT);
        return switch (v) {
            case "true", "on", "yes", "1" -> true;
            case "false", "off", "no", "0" -> false;
            default -> throw new VitException("tornado setting " + name + ": '" + v + "' is not true or false");
        };
    }

    /** What a plan needs from these: compiler flags and debugging output. */
    void apply(TornadoExecutionPlan plan, boolean ptx) {
        // TornadoVM's default OpenCL flags are "-cl-mad-enable -cl-fast-relaxed-math -w"
        plan.withCompilerFlags(TornadoVMBackendType.OPENCL, fastMath ? "-cl-mad-enable -cl-fast-relaxed-math -w" : "-w");
        if (printKernels) {
            plan.withPrintKernel();
        }
        if (threadInfo) {
            plan.withThreadInfo();
        }
        if (cudaGraph && ptx) {
            plan.withCUDAGraph();
        }
    }
}
