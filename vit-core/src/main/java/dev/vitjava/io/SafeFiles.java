package dev.vitjava.io;

import dev.vitjava.VitException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Reading and writing files so that bad input cannot hang or exhaust the program and a failed write never leaves
 * half a file: inputs must be regular files (a FIFO or device would block or never end) under a size cap, and
 * outputs go to a temporary file beside the target that is renamed over it only once complete.
 */
public final class SafeFiles {

    private SafeFiles() {
    }

    /** Writes the whole content to a stream; the stream is the temporary file, not the target. */
    @FunctionalInterface
    public interface Content {
        void writeTo(OutputStream out) throws IOException;
    }

    /** Checks that {@code file} is a regular file (following links) of at most {@code maxBytes}; returns its size. */
    public static long requireRegularFile(Path file, long maxBytes) {
        if (!Files.exists(file)) {
            throw new VitException(file + ": no such file");
        }
        if (Files.isDirectory(file)) {
            throw new VitException(file + ": is a directory, not a file");
        }
        if (!Files.isRegularFile(file)) {
            throw new VitException(file + ": not a regular file (a pipe or device is not read)");
        }
        long size;
        try {
            size = Files.size(file);
        } catch (IOException e) {
            throw new VitException(file + ": cannot read: " + describe(e), e);
        }
        if (size > maxBytes) {
            throw new VitException(file + ": " + size + " bytes, more than the " + maxBytes + "-byte limit for this"
                    + " kind of file");
        }
        return size;
    }

    /** The bytes of a regular file of at most {@code maxBytes}. */
    public static byte[] readRegularFile(Path file, long maxBytes) {
        requireRegularFile(file, maxBytes);
        try (InputStream in = Files.newInputStream(file)) {
            // the file may grow after the size check: never read past the cap
            byte[] bytes = in.readNBytes((int) Math.min(maxBytes, Integer.MAX_VALUE - 9) + 1);
            if (bytes.length > maxBytes) {
                throw new VitException(file + ": more than the " + maxBytes + "-byte limit for this kind of file");
            }
            return bytes;
        } catch (IOException e) {
            throw new VitException(file + ": cannot read: " + describe(e), e);
        }
    }

    /**
     * Writes {@code target} atomically: the content goes to a temporary file in the same directory, which replaces
     * the target only when it is complete, so a failure (disk full, an exception while producing the content)
     * leaves the previous file, or none, and never a partial one. A target that exists and is not a regular file
     * ({@code /dev/stdout}, a pipe) is written directly, since it cannot be replaced. Errors are one-line
     * {@link VitException}s naming the target.
     */
    public static void writeAtomically(Path target, Content content) {
        requireWritableTarget(target);
        if (Files.exists(target) && !Files.isRegularFile(target)) {
            try (OutputStream out = Files.newOutputStream(target)) {
                content.writeTo(out);
            } catch (IOException e) {
                throw new VitException(target + ": cannot write: " + describe(e), e);
            }
            return;
        }
        Path tmp = null;
        try {
            tmp = Outputs.temporaryBeside(target, ".tmp");
            try (OutputStream out = Files.newOutputStream(tmp)) {
                content.writeTo(out);
            }
            Outputs.moveInto(tmp, target);
            tmp = null;
        } catch (IOException e) {
            throw new VitException(target + ": cannot write: " + describe(e), e);
        } finally {
            Outputs.deleteQuietly(tmp);
        }
    }

    /**
     * Checks, before work whose result goes to {@code target}, that it can be written there: it is not a
     * directory, and its directory exists.
     */
    public static void requireWritableTarget(Path target) {
        if (Files.isDirectory(target)) {
            throw new VitException(target + ": is a directory");
        }
        Path parent = target.toAbsolutePath().getParent();
        if (!Files.exists(target) && (parent == null || !Files.isDirectory(parent))) {
            throw new VitException(target + ": cannot write: directory " + parent + " does not exist");
        }
    }

    /** A short reason for an I/O failure (NIO's messages are often just the path). */
    public static String describe(IOException e) {
        if (e instanceof NoSuchFileException) {
            return "no such file or directory";
        }
        if (e instanceof AccessDeniedException) {
            return "permission denied";
        }
        String m = e.getMessage();
        return m == null || m.isBlank() ? e.getClass().getSimpleName().replace("Exception", "").toLowerCase(Locale.ROOT)
                : m.replace('\n', ' ');
    }
}
