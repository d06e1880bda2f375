package dev.vitjava.io;

import dev.vitjava.VitException;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.SecureRandom;

/**
 * Output files that appear only when complete: written to a temporary file beside the target, then renamed over
 * it. The temporary file is created like any other file (mode 0666 less the umask), not with
 * {@code Files.createTempFile}'s owner-only mode, which the rename would carry over to the output.
 */
public final class Outputs {

    private static final SecureRandom RANDOM = new SecureRandom();

    private Outputs() {
    }

    /** Writes one stream's worth of content. */
    @FunctionalInterface
    public interface Content {
        void writeTo(OutputStream out) throws IOException;
    }

    /** A new, empty file {@code .<target name>.<random><suffix>} in the target's directory. */
    public static Path temporaryBeside(Path target, String suffix) throws IOException {
        Path dir = target.toAbsolutePath().getParent();
        while (true) {
            Path tmp = dir.resolve("." + target.getFileName() + "." + Long.toHexString(RANDOM.nextLong()) + suffix);
            try {
                return Files.createFile(tmp);
            } catch (FileAlreadyExistsException e) {
                // another name
            }
        }
    }

    /** Renames a complete temporary file over {@code target} (atomically where the file system can). */
    public static void moveInto(Path tmp, Path target) throws IOException {
        try {
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /** Writes {@code target} through a temporary file; a failure leaves no partial file. */
    public static void writeAtomically(Path target, Content content) {
        Path tmp = null;
        try {
            tmp = temporaryBeside(target, ".tmp");
            try (OutputStream out = Files.newOutputStream(tmp)) {
                content.writeTo(out);
            }
            moveInto(tmp, target);
            tmp = null;
        } catch (IOException e) {
            throw new VitException(target + ": cannot write: " + e.getMessage(), e);
        } finally {
            deleteQuietly(tmp);
        }
    }

    /** Deletes a leftover temporary file, if any; a failure to do so is not worth reporting over the real error. */
    public static void deleteQuietly(Path tmp) {
        if (tmp != null) {
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException ignored) {
                // best effort
            }
        }
    }
}
