package dev.vitjava;

import dev.vitjava.io.Printable;

/**
 * A problem the user can act on: a bad file, a wrong shape, an unsupported option. The message is one line that
 * names the file (or option) and the problem; the CLI prints it without a stack trace.
 */
public class VitException extends RuntimeException {

    public VitException(String message) {
        super(oneLine(message));
    }

    public VitException(String message, Throwable cause) {
        super(oneLine(message), cause);
    }

    /**
     * The text with control characters escaped ({@link Printable#escape}): messages often quote names read from
     * files, and a line break or terminal escape in one must stay visible as text.
     */
    public static String oneLine(String message) {
        return message == null ? null : Printable.escape(message);
    }
}
