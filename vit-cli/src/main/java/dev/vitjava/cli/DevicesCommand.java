package dev.vitjava.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.vitjava.engine.Backends;
import dev.vitjava.engine.EngineProvider;
import java.io.PrintWriter;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** Lists the backends and, for TornadoVM, its devices with their properties. */
@Command(name = "devices", mixinStandardHelpOptions = true,
        description = "List the backends and the devices they can run on.",
        footer = {"",
            "The tornado backend's options (classify, eval, run, bench):",
            "  --device ID          backend:device from this list",
            "                       (default: TornadoVM's default device)",
            "  --precision fp16     weight matrices as half floats, float32 accumulation",
            "                       (CUDA GPUs; OpenCL with cl_khr_fp16); default fp32",
            "  --fast-math          OpenCL -cl-fast-relaxed-math -cl-mad-enable",
            "                       (off: IEEE float results)",
            "  --kernels FORM       cpu (float8, no local memory), gpu (local-memory",
            "                       tiles) or auto: by device type (default)",
            "  --tiles GXxGYxGK,QxKV  gpu forms' tile sizes: GEMM work-group and step,",
            "                       attention queries and keys per group (default",
            "                       16x16x16,64x32, halved to fit the device's limits)",
            "  --device-memory SIZE TornadoVM's device heap, e.g. 16GB (default 4GB)",
            "  --cuda-graph         on a PTX device, replay each task graph as a CUDA graph",
            "  --print-kernels      print each generated kernel",
            "  --thread-info        print each launch grid",
            "Each also reads the system property vit.tornado.NAME",
            "(e.g. JAVA_OPTS=-Dvit.tornado.precision=fp16)."})
final class DevicesCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    enum Format { text, json }

    /** Said for the tornado backend when vit-tornado is not in this build. */
    private static final String TORNADO_MISSING =
            "not installed: build with a TornadoVM SDK (TORNADOVM_HOME) to add it";

    @Option(names = "--format", paramLabel = "FMT", defaultValue = "text",
            description = "Output format: ${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE}).")
    Format format;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        if (format == Format.json) {
            out.println(json());
            return 0;
        }
        for (EngineProvider p : Backends.all()) {
            String status = p.unavailableReason().map(r -> "unavailable: " + r).orElse("available");
            out.printf("%-10s %s (%s)%n", p.name(), p.description(), status);
            for (Map<String, String> device : p.devices()) {
                out.printf("  %s%n", device.getOrDefault("id", "?"));
                device.forEach((k, v) -> {
                    if (!k.equals("id")) {
                        out.printf("      %-22s %s%n", k, v);
                    }
                });
            }
        }
        if (Backends.all().stream().noneMatch(p -> p.name().equals("tornado"))) {
            out.printf("%-10s %s%n", "tornado", TORNADO_MISSING);
        }
        return 0;
    }

    /** {"backends": [{"name", "description", "available", "reason"?, "devices": [{property: value}]}]}. */
    private static ObjectNode json() {
        ObjectNode o = new ObjectMapper().createObjectNode();
        ArrayNode backends = o.putArray("backends");
        for (EngineProvider p : Backends.all()) {
            ObjectNode b = backends.addObject().put("name", p.name()).put("description", p.description())
                    .put("available", p.unavailableReason().isEmpty());
            p.unavailableReason().ifPresent(r -> b.put("reason", r));
            ArrayNode devices = b.putArray("devices");
            p.devices().forEach(d -> d.forEach(devices.addObject()::put));
        }
        if (Backends.all().stream().noneMatch(p -> p.name().equals("tornado"))) {
            backends.addObject().put("name", "tornado").put("available", false)
                    .put("reason", TORNADO_MISSING)
                    .putArray("devices");
        }
        return o;
    }
}
