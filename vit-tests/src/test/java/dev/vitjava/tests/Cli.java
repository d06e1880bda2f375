package dev.vitjava.tests;

import dev.vitjava.cli.Main;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;

/** Runs the vit CLI in-process and captures what a user would see. */
record Cli(int exitCode, String out, String err) {

    static Cli run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
        return new Cli(code, out.toString(), err.toString());
    }

    /** Runs with standard output going to {@code stdout} (e.g. one that fails like a full disk or closed pipe). */
    static Cli runWithStdout(OutputStream stdout, String... args) {
        StringWriter err = new StringWriter();
        int code = Main.run(args, new PrintWriter(stdout, true), new PrintWriter(err, true));
        return new Cli(code, "", err.toString());
    }

    /** True when stderr is a single line with no stack trace. */
    boolean oneLineError() {
        String e = err.strip();
        return !e.isEmpty() && !e.contains("\n") && !e.contains("Exception") && !e.contains("\tat ");
    }
}
