package dev.vitjava.checkpoint;

import dev.vitjava.VitException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/**
 * A zip archive read for checkpoints: {@code torch.save} archives and NumPy {@code .npz} files. Written here
 * rather than using {@link java.util.zip.ZipFile} so that stored entries (everything {@code torch.save} and
 * {@code np.savez} write) can be memory-mapped in place, and so that every offset and size is checked against the
 * file before it is used. Deflated entries ({@code np.savez_compressed}) are inflated to exactly their declared
 * size. Zip64 is read; encryption, multi-disk archives and other compression methods are refused.
 */
final class ZipArchive implements AutoCloseable {

    private static final int EOCD = 0x06054b50;
    private static final int ZIP64_LOCATOR = 0x07064b50;
    private static final int ZIP64_EOCD = 0x06064b50;
    private static final int CENTRAL = 0x02014b50;
    private static final int LOCAL = 0x04034b50;
    private static final int STORED = 0;
    private static final int DEFLATED = 8;
    /** Largest central directory read: a checkpoint's has a few hundred entries, well under a MiB. */
    private static final long MAX_DIRECTORY_BYTES = 64L << 20;

    /** One member: where its data starts, how it is compressed and its sizes. */
    record Entry(String name, int method, long dataStart, long compressedSize, long size) {
    }

    private final Path path;
    private final FileChannel channel;
    private final long fileSize;
    private final Map<String, Entry> entries;

    private ZipArchive(Path path, FileChannel channel, long fileSize, Map<String, Entry> entries) {
        this.path = path;
        this.channel = channel;
        this.fileSize = fileSize;
        this.entries = entries;
    }

    /** Whether the file starts like a zip archive (a local file header). */
    static boolean looksLikeZip(ByteBuffer head) {
        return head.remaining() >= 4 && head.order(ByteOrder.LITTLE_ENDIAN).getInt(head.position()) == LOCAL;
    }

    static ZipArchive open(Path path) {
        FileChannel channel = Checkpoints.openChannel(path);
        try {
            long size = channel.size();
            return new ZipArchive(path, channel, size, readDirectory(path, channel, size));
        } catch (IOException e) {
            Checkpoints.closeQuietly(channel);
            throw error(path, "read failed: " + e.getMessage());
        } catch (RuntimeException e) {
            Checkpoints.closeQuietly(channel);
            throw e;
        }
    }

    Path path() {
        return path;
    }

    /** Members in directory order. */
    Map<String, Entry> entries() {
        return entries;
    }

    /**
     * A member's bytes, little-endian: a read-only mapping for stored members, an inflated heap copy for
     * deflated ones.
     */
    ByteBuffer bytes(Entry e) {
        if (e.size > Integer.MAX_VALUE - 8) {
            throw error(path, "'" + Checkpoints.shown(e.name) + "' has " + e.size + " bytes; members over 2 GiB are not supported");
        }
        try {
            if (e.method == STORED) {
                return channel.map(FileChannel.MapMode.READ_ONLY, e.dataStart, e.size).order(ByteOrder.LITTLE_ENDIAN);
            }
            return inflate(e);
        } catch (IOException ex) {
            throw error(path, "cannot read '" + Checkpoints.shown(e.name) + "': " + ex.getMessage());
        }
    }

    private ByteBuffer inflate(Entry e) throws IOException {
        ByteBuffer in = channel.map(FileChannel.MapMode.READ_ONLY, e.dataStart, e.compressedSize);
        byte[] out = new byte[(int) e.size];
        Inflater inflater = new Inflater(true);
        try {
            inflater.setInput(in);
            int n = 0;
            while (n < out.length) {
                int before = inflater.getRemaining();
                int got = inflater.inflate(out, n, out.length - n);
                if (got == 0 && inflater.getRemaining() == before) {
                    break; // no progress: finished early, out of input, or wants a dictionary
                }
                n += got;
            }
            if (n != out.length) {
                throw error(path, "'" + Checkpoints.shown(e.name) + "': deflated data ends after " + n + " of " + out.length + " bytes");
            }
        } catch (DataFormatException ex) {
            throw error(path, "'" + Checkpoints.shown(e.name) + "': corrupt deflated data (" + ex.getMessage() + ")");
        } finally {
            inflater.end();
        }
        return ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN);
    }

    private static Map<String, Entry> readDirectory(Path path, FileChannel channel, long fileSize) throws IOException {
        int tailLength = (int) Math.min(fileSize, 22 + 0xffff);
        ByteBuffer tail = read(channel, fileSize - tailLength, tailLength);
        int eocd = -1;
        for (int i = tailLength - 22; i >= 0; i--) {
            if (tail.getInt(i) == EOCD) {
                eocd = i;
                break;
            }
        }
        if (eocd < 0) {
            throw error(path, "zip archive without an end-of-central-directory record: truncated or not a zip file");
        }
        long eocdPosition = fileSize - tailLength + eocd;
        long count = tail.getShort(eocd + 10) & 0xffff;
        long directorySize = tail.getInt(eocd + 12) & 0xffffffffL;
        long directoryOffset = tail.getInt(eocd + 16) & 0xffffffffL;
        if ((tail.getShort(eocd + 4) & 0xffff) != 0 || (tail.getShort(eocd + 6) & 0xffff) != 0) {
            throw error(path, "multi-disk zip archives are not supported");
        }
        long directoryEnd = eocdPosition;
        if (count == 0xffff || directorySize == 0xffffffffL || directoryOffset == 0xffffffffL) {
            if (eocdPosition < 20 || read(channel, eocdPosition - 20, 4).getInt(0) != ZIP64_LOCATOR) {
                throw error(path, "zip64 sizes without a zip64 locator");
            }
            long recordPosition = read(channel, eocdPosition - 20 + 8, 8).getLong(0);
            if (recordPosition < 0 || recordPosition > eocdPosition - 20 - 56) {
                throw error(path, "zip64 end record offset " + recordPosition + " is outside the file");
            }
            ByteBuffer record = read(channel, recordPosition, 56);
            if (record.getInt(0) != ZIP64_EOCD) {
                throw error(path, "no zip64 end record where the locator points");
            }
            count = record.getLong(32);
            directorySize = record.getLong(40);
            directoryOffset = record.getLong(48);
            directoryEnd = recordPosition;
        }
        if (directoryOffset < 0 || directorySize < 0 || directoryOffset > directoryEnd
                || directorySize > directoryEnd - directoryOffset) {
            throw error(path, "central directory [" + directoryOffset + ", +" + directorySize
                    + ") is outside the file (" + fileSize + " bytes)");
        }
        if (directorySize > MAX_DIRECTORY_BYTES) {
            throw error(path, "central directory of " + directorySize + " bytes exceeds the " + MAX_DIRECTORY_BYTES
                    + "-byte limit");
        }
        if (count < 0 || count > directorySize / 46) {
            throw error(path, "central directory claims " + count + " entries in " + directorySize + " bytes");
        }
        ByteBuffer dir = read(channel, directoryOffset, (int) directorySize);
        Map<String, Entry> entries = new LinkedHashMap<>();
        int p = 0;
        for (long i = 0; i < count; i++) {
            if (p > dir.limit() - 46 || dir.getInt(p) != CENTRAL) {
                throw error(path, "central directory entry " + i + " is corrupt");
            }
            int flags = dir.getShort(p + 8) & 0xffff;
            int method = dir.getShort(p + 10) & 0xffff;
            long compressed = dir.getInt(p + 20) & 0xffffffffL;
            long size = dir.getInt(p + 24) & 0xffffffffL;
            int nameLength = dir.getShort(p + 28) & 0xffff;
            int extraLength = dir.getShort(p + 30) & 0xffff;
            int commentLength = dir.getShort(p + 32) & 0xffff;
            long localOffset = dir.getInt(p + 42) & 0xffffffffL;
            int next = p + 46 + nameLength + extraLength + commentLength;
            if (next > dir.limit()) {
                throw error(path, "central directory entry " + i + " runs past the directory");
            }
            byte[] nameBytes = new byte[nameLength];
            dir.get(p + 46, nameBytes);
            String name = new String(nameBytes, StandardCharsets.UTF_8);
            // zip64 extra field: the 0xffffffff fields, in this order, as 8-byte values
            int x = p + 46 + nameLength;
            int extraEnd = x + extraLength;
            while (x + 4 <= extraEnd) {
                int id = dir.getShort(x) & 0xffff;
                int length = dir.getShort(x + 2) & 0xffff;
                int q = x + 4;
                if (q + length > extraEnd) {
                    break;
                }
                if (id == 1) {
                    if (size == 0xffffffffL && q + 8 <= x + 4 + length) {
                        size = dir.getLong(q);
                        q += 8;
                    }
                    if (compressed == 0xffffffffL && q + 8 <= x + 4 + length) {
                        compressed = dir.getLong(q);
                        q += 8;
                    }
                    if (localOffset == 0xffffffffL && q + 8 <= x + 4 + length) {
                        localOffset = dir.getLong(q);
                    }
                }
                x += 4 + length;
            }
            p = next;
            String where = "'" + Checkpoints.shown(name) + "'";
            if ((flags & 1) != 0) {
                throw error(path, where + " is encrypted");
            }
            if (method != STORED && method != DEFLATED) {
                throw error(path, where + " uses compression method " + method + " (only stored and deflated are read)");
            }
            if (size < 0 || compressed < 0 || localOffset < 0 || localOffset > fileSize - 30) {
                throw error(path, where + ": local header offset " + localOffset + " is outside the file");
            }
            ByteBuffer local = read(channel, localOffset, 30);
            if (local.getInt(0) != LOCAL) {
                throw error(path, where + ": no local header at offset " + localOffset);
            }
            long dataStart = localOffset + 30 + (local.getShort(26) & 0xffff) + (local.getShort(28) & 0xffff);
            if (compressed > fileSize - dataStart) {
                throw error(path, where + ": " + compressed + " bytes of data at offset " + dataStart
                        + " run past the end of the file (" + fileSize + " bytes)");
            }
            if (method == STORED && compressed != size) {
                throw error(path, where + ": stored entry with compressed size " + compressed + " != size " + size);
            }
            // deflate expands at most about 1032:1; a larger claim is a corrupt size, refused before allocating
            if (method == DEFLATED && (size > Integer.MAX_VALUE - 8 || size > 1032 * compressed + 1024)) {
                throw error(path, where + ": inflated size " + size + " is impossible for " + compressed
                        + " compressed bytes or too large");
            }
            if (entries.put(name, new Entry(name, method, dataStart, compressed, size)) != null) {
                throw error(path, "member '" + Checkpoints.shown(name) + "' appears twice");
            }
        }
        return Collections.unmodifiableMap(entries);
    }

    private static ByteBuffer read(FileChannel channel, long position, int length) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(length).order(ByteOrder.LITTLE_ENDIAN);
        while (b.hasRemaining()) {
            if (channel.read(b, position + b.position()) < 0) {
                throw new IOException("unexpected end of file");
            }
        }
        return b.flip();
    }

    private static VitException error(Path path, String message) {
        return new VitException(path + ": " + message);
    }

    @Override
    public void close() {
        Checkpoints.closeQuietly(channel);
    }
}
