package dev.vitjava.cli;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.module.ModuleFinder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code java -jar vit.jar ...} as a Java user types it: a jar manifest cannot add the {@code jdk.incubator.vector}
 * module the cpu engine needs, so the CLI starts itself again with it (and with native access), passing on the
 * user's JVM options, stdin, stdout and the exit code; stderr is copied live without the incubator notice.
 */
final class Relaunch {

    private static final String VECTOR_MODULE = "jdk.incubator.vector";
    /** Marks the second JVM, so a runtime that still lacks the module never loops. */
    private static final String RELAUNCHED = "vit.relaunched";

    private Relaunch() {
    }

    /** Whether this JVM lacks the vector module that its runtime has (a restart with the flag helps). */
    static boolean needed() {
        return ModuleLayer.boot().findModule(VECTOR_MODULE).isEmpty() && System.getProperty(RELAUNCHED) == null
                && ModuleFinder.ofSystem().find(VECTOR_MODULE).isPresent();
    }

    /** Runs {@code args} in a JVM with the module; returns its exit code. */
    static int withVectorModule(String[] args) {
        String java = ProcessHandle.current().info().command()
                .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        List<String> command = new ArrayList<>(List.of(java));
        command.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments());
        command.addAll(List.of("--add-modules", VECTOR_MODULE, "--enable-native-access=ALL-UNNAMED",
                "-D" + RELAUNCHED + "=true", "-D" + Terminal.STDERR_TTY + "=" + Terminal.stderrIsTerminal(),
                "-cp", System.getProperty("java.class.path"), Main.class.getName()));
        command.addAll(List.of(args));
        try {
            Process child = new ProcessBuilder(command).redirectInput(ProcessBuilder.Redirect.INHERIT)
                    .redirectOutput(ProcessBuilder.Redirect.INHERIT).start();
            Runtime.getRuntime().addShutdownHook(new Thread(child::destroy));
            Terminal.copyStderr(child.getErrorStream(), System.err);
            return child.waitFor();
        } catch (IOException e) {
            System.err.println("vit: cannot start Java again with --add-modules " + VECTOR_MODULE + " ("
                    + e.getMessage() + "); run java --add-modules " + VECTOR_MODULE + " -jar vit.jar ...");
            return Main.EXIT_FAILURE;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Main.EXIT_FAILURE;
        }
    }
}
