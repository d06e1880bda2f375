package dev.vitjava.cli;

import dev.vitjava.engine.Backends;
import dev.vitjava.engine.EngineProvider;
import java.io.PrintWriter;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** Lists the backends and, for TornadoVM, its devices with their properties. */
@Command(name = "devices", mixinStandardHelpOptions = true,
        description = "List the backends and the devices they can run on.")
final class DevicesCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
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
            out.printf("%-10s %s%n", "tornado", "not installed: build with a TornadoVM SDK (TORNADOVM_HOME) to add it");
        }
        return 0;
    }
}
