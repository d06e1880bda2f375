package dev.vitjava.checkpoint;

import dev.vitjava.VitException;
import java.nio.file.Path;

/**
 * Weights are memory-mapped, so a checkpoint that is truncated or rewritten while a run uses it makes the next
 * access fault; the JVM reports that as an {@link InternalError} ("a fault occurred in an unsafe memory access")
 * from wherever the access happened. This turns it into a one-line error naming the file.
 */
public final class MappedFaults {

    private MappedFaults() {
    }

    /** Whether {@code e} is the JVM's report of a fault in mapped memory. */
    public static boolean isFault(Throwable e) {
        return e instanceof InternalError && e.getMessage() != null && e.getMessage().contains("unsafe memory access");
    }

    /** The error to report for a fault in the mapping of {@code file}. */
    public static VitException describe(Path file, Throwable fault) {
        return new VitException(file + ": the file was truncated or changed while in use (its memory mapping"
                + " failed); do not modify a model during a run", fault);
    }
}
