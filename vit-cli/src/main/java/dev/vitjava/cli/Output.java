package dev.vitjava.cli;

import dev.vitjava.VitException;
import java.io.PrintWriter;

/**
 * What the user reads. PrintWriter swallows write errors, so a full disk or a closed pipe would otherwise look
 * like success: commands check after each result line and stop, and {@link Main} checks once at the end.
 */
final class Output {

    static final String CANNOT_WRITE = "standard output: cannot write (closed pipe or full disk)";

    private Output() {
    }

    /** Flushes {@code out} and stops the command if writing failed. */
    static void check(PrintWriter out) {
        if (out.checkError()) {
            throw new VitException(CANNOT_WRITE + "; stopped");
        }
    }
}
