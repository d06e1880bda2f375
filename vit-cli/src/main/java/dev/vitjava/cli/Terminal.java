package dev.vitjava.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** What the CLI needs to know about its stderr: whether a person watches it (progress bars), and a live filter. */
final class Terminal {

    /**
     * Set by the {@code vit} launcher and by {@link Relaunch}: whether the process's real stderr is a terminal,
     * which the JVM cannot see itself when its stderr is the filter's pipe.
     */
    static final String STDERR_TTY = "vit.stderr.tty";

    /** The JVM's first stderr line when {@code jdk.incubator.vector} is on (it cannot be turned off). */
    private static final String INCUBATOR_NOTICE = "WARNING: Using incubator modules";

    private Terminal() {
    }

    /**
     * Whether stderr is a terminal, so progress bars redrawn with {@code \r} may go there. Decided from stderr
     * alone: {@code vit classify dir/ > out.txt} still shows the bar, {@code 2> err.log} never gets one.
     */
    static boolean stderrIsTerminal() {
        String told = System.getProperty(STDERR_TTY);
        if (told != null) {
            return Boolean.parseBoolean(told);
        }
        try {
            // Linux: what file descriptor 2 is open on; no native access needed
            String target = Files.readSymbolicLink(Path.of("/proc/self/fd/2")).toString();
            return target.startsWith("/dev/pts/") || target.startsWith("/dev/tty");
        } catch (IOException | UnsupportedOperationException | SecurityException e) {
            // elsewhere: the JVM's console check, which looks at stdin and stdout (the best there is without FFM)
            return System.console() != null;
        }
    }

    /**
     * Copies a child JVM's stderr to ours as bytes arrive (so {@code \r}-redrawn progress bars stay live), leaving
     * out the incubator-module notice if it is the first line.
     */
    static void copyStderr(InputStream in, OutputStream out) throws IOException {
        byte[] head = new byte[INCUBATOR_NOTICE.length()];
        int n = in.readNBytes(head, 0, head.length);
        if (n == head.length && new String(head, StandardCharsets.US_ASCII).equals(INCUBATOR_NOTICE)) {
            for (int b; (b = in.read()) >= 0 && b != '\n'; ) {
                // the rest of the notice
            }
        } else {
            out.write(head, 0, n);
            out.flush();
        }
        byte[] buffer = new byte[8192];
        for (int r; (r = in.read(buffer)) >= 0; ) {
            out.write(buffer, 0, r);
            out.flush();
        }
    }
}
