package dev.vitjava;

/**
 * A problem the user can act on: a bad file, a wrong shape, an unsupported option. The message is one line that
 * names the file (or option) and the problem; the CLI prints it without a stack trace.
 */
public class VitException extends RuntimeException {

    public VitException(String message) {
        super(message);
    }

    public VitException(String message, Throwable cause) {
        super(message, cause);
    }
}
