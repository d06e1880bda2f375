package dev.vitjava.cli;

import java.io.PrintStream;

/** A progress bar on stderr, shown only when stderr is a terminal, for more than a handful of items, not with -q. */
final class Progress implements AutoCloseable {

    private static final int HANDFUL = 8;
    private final PrintStream out;
    private final String label;
    private final int total;
    private final long start = System.nanoTime();
    private long lastDraw;
    private int done;

    Progress(String label, int total, boolean quiet) {
        this.out = !quiet && total > HANDFUL && Terminal.stderrIsTerminal() ? System.err : null;
        this.label = label;
        this.total = total;
    }

    void advance(int n) {
        advance(n, "");
    }

    /** Advances and shows {@code status} after the rate (e.g. a running loss). */
    void advance(int n, String status) {
        done += n;
        long now = System.nanoTime();
        if (out != null && (now - lastDraw > 100_000_000L || done == total)) {
            lastDraw = now;
            int width = 30;
            int filled = total == 0 ? width : (int) ((long) width * done / total);
            double seconds = (now - start) / 1e9;
            out.printf("\r%s [%s%s] %d/%d %.1f/s%s", label, "#".repeat(filled), " ".repeat(width - filled), done,
                    total, seconds > 0 ? done / seconds : 0.0, status);
            out.flush();
        }
    }

    @Override
    public void close() {
        if (out != null) {
            out.print("\r\033[K");
            out.flush();
        }
    }
}
