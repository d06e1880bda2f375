package dev.vitjava.io;

/**
 * Names from the file system or the network made safe for one line of output: a file name may contain a newline
 * or a terminal escape, which would forge output lines or errors.
 */
public final class Printable {

    private Printable() {
    }

    /** {@code s} with control characters (C0, DEL, C1) written as {@code \n}, {@code \r}, {@code \t} or {@code \xNN}. */
    public static String escape(String s) {
        if (s == null) {
            return "null";
        }
        if (s.codePoints().noneMatch(Character::isISOControl)) {
            return s;
        }
        StringBuilder b = new StringBuilder(s.length() + 8);
        s.codePoints().forEach(cp -> {
            switch (cp) {
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                default -> {
                    if (Character.isISOControl(cp)) {
                        b.append(String.format("\\x%02x", cp));
                    } else {
                        b.appendCodePoint(cp);
                    }
                }
            }
        });
        return b.toString();
    }
}
