package dev.vitjava.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vitjava.VitException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafeFilesTest {

    @TempDir
    Path tmp;

    @Test
    void aFailedWriteLeavesThePreviousFileAndNoTemporary() throws IOException {
        Path target = tmp.resolve("out.csv");
        Files.writeString(target, "previous");
        assertThatThrownBy(() -> SafeFiles.writeAtomically(target, out -> {
            out.write("half".getBytes(StandardCharsets.UTF_8));
            throw new IOException("No space left on device");
        })).isInstanceOf(VitException.class).hasMessage(target + ": cannot write: No space left on device");
        assertThat(Files.readString(target)).isEqualTo("previous");
        try (var files = Files.list(tmp)) {
            assertThat(files).containsExactly(target);
        }
        SafeFiles.writeAtomically(target, out -> out.write("new".getBytes(StandardCharsets.UTF_8)));
        assertThat(Files.readString(target)).isEqualTo("new");
    }

    @Test
    void targetsAreChecked() {
        assertThatThrownBy(() -> SafeFiles.requireWritableTarget(tmp.resolve("missing/x.csv")))
                .isInstanceOf(VitException.class).hasMessageContaining("does not exist");
        assertThatThrownBy(() -> SafeFiles.requireWritableTarget(tmp)).hasMessageContaining("is a directory");
    }

    @Test
    void readsOnlyRegularFilesUnderTheCap() throws IOException {
        Path f = Files.writeString(tmp.resolve("labels.txt"), "a\nb\n");
        assertThat(SafeFiles.readRegularFile(f, 4)).hasSize(4);
        assertThatThrownBy(() -> SafeFiles.readRegularFile(f, 3)).hasMessageContaining("3-byte limit");
        assertThatThrownBy(() -> SafeFiles.readRegularFile(Path.of("/dev/zero"), 100))
                .hasMessageContaining("not a regular file");
        assertThatThrownBy(() -> SafeFiles.readRegularFile(tmp, 100)).hasMessageContaining("is a directory");
        assertThatThrownBy(() -> SafeFiles.readRegularFile(tmp.resolve("nope"), 100)).hasMessageContaining("no such file");
    }

    @Test
    void controlCharactersAreEscaped() {
        assertThat(Printable.escape("a\nb\r\tc\u001b[31m\u0085")).isEqualTo("a\\nb\\r\\tc\\x1b[31m\\x85");
        assertThat(Printable.escape("plain/ü.png")).isEqualTo("plain/ü.png");
    }
}
