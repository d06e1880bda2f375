package dev.vitjava;

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
     * The text with control characters written as {@code \\uXXXX}: messages often quote names read from files,
     * and a line break or terminal escape in one must stay visible as text.
     */
    public static String oneLine(String message) {
        if (message == null || message.chars().noneMatch(Character::isISOControl)) {
            return message;
        }
        StringBuilder b = new StringBuilder(message.length());
        message.chars().forEach(c -> b.append(Character.isISOControl(c) ? String.format("\\u%04x", c) : (char) c));
        return b.toString();
    }
}
