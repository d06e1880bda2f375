package dev.vitjava.checkpoint;

import dev.vitjava.VitException;
import dev.vitjava.io.SafeFiles;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Writes a file through a temporary file in the same directory and a rename ({@link Outputs}), so no reader sees
 * half of it; missing directories are created.
 */
public final class AtomicFiles {

    /** What writes the content. */
    public interface Content {
        void writeTo(OutputStream out) throws IOException;
    }

    private AtomicFiles() {
    }

    /** Creates the directory if needed, then {@link SafeFiles#writeAtomically} (one implementation of the rename). */
    public static void write(Path file, Content content) {
        try {
            Files.createDirectories(file.toAbsolutePath().getParent());
        } catch (IOException e) {
            throw new VitException(file + ": cannot write: " + SafeFiles.describe(e), e);
        }
        SafeFiles.writeAtomically(file, content::writeTo);
    }
}
