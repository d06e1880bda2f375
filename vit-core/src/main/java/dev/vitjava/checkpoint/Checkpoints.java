package dev.vitjava.checkpoint;

import dev.vitjava.VitException;
import dev.vitjava.io.SafeFiles;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Set;

/**
 * Opens a checkpoint file as a {@link TensorSource}, choosing the reader by the file's first bytes (never its
 * extension): a JSON header after 8 bytes is safetensors; a zip archive is a {@code torch.save} checkpoint when it holds {@code data.pkl}, a NumPy
 * {@code .npz} when it holds {@code .npy} members; a {@code .index.json} is a shard index; anything else is
 * refused by the safetensors reader with its own message. A bare pickle (PyTorch's legacy pre-1.6 format) is refused without being parsed.
 */
public final class Checkpoints {

    /** File names a model directory may hold its weights under, besides model.safetensors. */
    static final Set<String> EXTENSIONS = Set.of(".safetensors", ".pth", ".pt", ".bin", ".ckpt", ".npz");

    /** The first bytes of PyTorch's legacy format: protocol 2, then LONG1 of the magic number 0x1950a86a20f9469cfc6c. */
    private static final byte[] LEGACY_MAGIC = {(byte) 0x80, 0x02, (byte) 0x8a, 0x0a, 0x6c, (byte) 0xfc, (byte) 0x9c,
        0x46, (byte) 0xf9, 0x20, 0x6a, (byte) 0xa8, 0x50, 0x19};

    private Checkpoints() {
    }

    /**
     * Opens a weights file.
     *
     * @param ema for a training checkpoint, read its EMA weights instead of the model's
     */
    public static TensorSource open(Path file, boolean ema) {
        if (Files.isDirectory(file)) {
            throw new VitException(file + ": is a directory, not a checkpoint file");
        }
        if (file.getFileName() != null && file.getFileName().toString().endsWith(".index.json")) {
            return ShardedCheckpoint.open(file, ema);
        }
        ByteBuffer head = head(file);
        TensorSource source;
        if (head.remaining() > 8 && head.get(8) == '{') {
            // safetensors: an 8-byte length, then the JSON header (its first byte may well be 0x80 or "PK")
            source = Safetensors.open(file);
        } else if (ZipArchive.looksLikeZip(head)) {
            source = fromZip(file, ema);
        } else if (head.remaining() > 1 && (head.get(0) & 0xff) == 0x80 && head.get(1) >= 2 && head.get(1) <= 5) {
            boolean legacy = head.remaining() >= LEGACY_MAGIC.length
                    && head.slice(0, LEGACY_MAGIC.length).equals(ByteBuffer.wrap(LEGACY_MAGIC));
            throw new VitException(file + ": " + (legacy ? "PyTorch's legacy (pre-1.6) torch.save format" : "a bare "
                    + "pickle, not a torch.save zip archive") + ", which is not read; re-save it with torch.save in "
                    + "PyTorch 1.6 or newer, or as safetensors");
        } else if (head.remaining() >= 6 && head.get(0) == (byte) 0x93 && head.get(1) == 'N') {
            throw new VitException(file + ": a single .npy array, not a checkpoint (use an .npz of all weights)");
        } else {
            source = Safetensors.open(file);
        }
        if (ema && !(source instanceof TorchCheckpoint)) {
            source.close();
            throw new VitException(file + ": --ema reads the EMA weights of a torch.save training checkpoint; this is "
                    + source.format());
        }
        return source;
    }

    private static TensorSource fromZip(Path file, boolean ema) {
        ZipArchive zip = ZipArchive.open(file);
        try {
            String archive = TorchCheckpoint.archivePrefix(zip);
            if (archive != null) {
                return TorchCheckpoint.open(zip, archive, ema);
            }
            if (zip.entries().keySet().stream().anyMatch(n -> n.endsWith(".npy"))) {
                return NpzCheckpoint.open(zip);
            }
            throw new VitException(file + ": a zip archive with neither data.pkl (torch.save) nor .npy members "
                    + "(numpy.savez)");
        } catch (RuntimeException e) {
            zip.close();
            throw e;
        }
    }

    private static ByteBuffer head(Path file) {
        try (FileChannel channel = openChannel(file)) {
            ByteBuffer b = ByteBuffer.allocate(16);
            while (b.hasRemaining() && channel.read(b) >= 0) {
                // read up to 16 bytes
            }
            return b.flip();
        } catch (IOException e) {
            throw new VitException(file + ": cannot read: " + e.getMessage());
        }
    }

    /** A name read from a file, fit for a one-line message: control characters escaped, at most 100 characters. */
    public static String shown(String name) {
        String s = VitException.oneLine(name);
        return s.length() <= 100 ? s : s.substring(0, 100) + "...";
    }

    static FileChannel openChannel(Path path) {
        SafeFiles.requireRegularFile(path, Long.MAX_VALUE); // a FIFO would block the open below
        try {
            return FileChannel.open(path, StandardOpenOption.READ);
        } catch (NoSuchFileException e) {
            throw new VitException(path + ": no such file");
        } catch (IOException e) {
            throw new VitException(path + ": cannot open: " + e.getMessage(), e);
        }
    }

    static void closeQuietly(AutoCloseable c) {
        try {
            c.close();
        } catch (Exception ignored) {
            // read-only: nothing to lose
        }
    }
}
