package dev.vitjava.train;

import dev.vitjava.VitException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The output of the frozen part of the model, per training sample, kept after the first epoch computed it: while
 * the first K blocks are frozen, augmentation is off and nothing drops below block K, later epochs start at block
 * K from here. Samples go to memory up to {@code memoryBytes}, the rest to a scratch file (deleted on close).
 */
public final class FeatureCache implements AutoCloseable {

    private final int floatsPerSample;
    private final float[][] memory;
    private final int inMemory;
    private final boolean[] present;
    private final Path dir;
    private Path file;
    private FileChannel channel;

    /**
     * @param dir where the scratch file goes when memory is not enough
     */
    public FeatureCache(int samples, int floatsPerSample, long memoryBytes, Path dir) {
        this.floatsPerSample = floatsPerSample;
        this.inMemory = (int) Math.min(samples, Math.max(0, memoryBytes / (4L * floatsPerSample)));
        this.memory = new float[inMemory][];
        this.present = new boolean[samples];
        this.dir = dir;
    }

    public boolean has(int sample) {
        return present[sample];
    }

    /** Samples held in memory (the rest go to disk). */
    public int inMemory() {
        return inMemory;
    }

    /** Stores sample {@code sample}'s features from {@code src[off, off + floatsPerSample)}. */
    public void put(int sample, float[] src, int off) {
        if (sample < inMemory) {
            memory[sample] = java.util.Arrays.copyOfRange(src, off, off + floatsPerSample);
        } else {
            ByteBuffer b = ByteBuffer.allocate(4 * floatsPerSample).order(ByteOrder.LITTLE_ENDIAN);
            b.asFloatBuffer().put(src, off, floatsPerSample);
            try {
                FileChannel ch = channel();
                long at = (long) (sample - inMemory) * 4 * floatsPerSample;
                while (b.hasRemaining()) {
                    at += ch.write(b, at);
                }
            } catch (IOException e) {
                throw new VitException(file + ": cannot write the feature cache: " + e.getMessage());
            }
        }
        present[sample] = true;
    }

    /** Copies sample {@code sample}'s features into {@code dst[off, off + floatsPerSample)}. */
    public void get(int sample, float[] dst, int off) {
        if (sample < inMemory) {
            System.arraycopy(memory[sample], 0, dst, off, floatsPerSample);
            return;
        }
        ByteBuffer b = ByteBuffer.allocate(4 * floatsPerSample).order(ByteOrder.LITTLE_ENDIAN);
        try {
            long at = (long) (sample - inMemory) * 4 * floatsPerSample;
            while (b.hasRemaining()) {
                int n = channel.read(b, at + b.position());
                if (n < 0) {
                    throw new IOException("unexpected end of file");
                }
            }
        } catch (IOException e) {
            throw new VitException(file + ": cannot read the feature cache: " + e.getMessage());
        }
        b.flip();
        b.asFloatBuffer().get(dst, off, floatsPerSample);
    }

    private FileChannel channel() throws IOException {
        if (channel == null) {
            file = Files.createTempFile(dir, ".features-", ".tmp");
            file.toFile().deleteOnExit(); // also on Ctrl-C, which skips close()
            channel = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE);
        }
        return channel;
    }

    @Override
    public void close() {
        try {
            if (channel != null) {
                channel.close();
                Files.deleteIfExists(file);
            }
        } catch (IOException e) {
            // a scratch file: nothing to lose
        }
    }
}
