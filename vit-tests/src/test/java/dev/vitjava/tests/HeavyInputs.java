package dev.vitjava.tests;

import dev.vitjava.cli.Main;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Runs CLI invocations one after another in this JVM (started by {@link HeavyInputTest} with a small heap) and
 * prints, per invocation, its exit code and its stderr with newlines escaped: one JVM for all the heavy cases.
 */
public final class HeavyInputs {

    private HeavyInputs() {
    }

    /** {@code args[0]}: a file with one invocation per line, arguments separated by tabs. */
    public static void main(String[] args) throws IOException {
        List<String> cases = Files.readAllLines(Path.of(args[0]));
        for (String c : cases) {
            StringWriter err = new StringWriter();
            int code = Main.run(c.split("\t"), new PrintWriter(new StringWriter(), true), new PrintWriter(err, true));
            System.out.println(code + "\t" + err.toString().strip().replace("\n", "\\n"));
        }
    }
}
