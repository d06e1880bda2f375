package dev.vitjava.engine.cpu.platform;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MappedPagesTest {

    @Test
    void releasingNeverChangesData(@TempDir Path dir) throws Exception {
        int n = 5 * 4096;
        ByteBuffer bytes = ByteBuffer.allocate(n * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < n; i++) {
            bytes.putFloat(i * 0.5f);
        }
        Path f = dir.resolve("w.bin");
        Files.write(f, bytes.array());
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ)) {
            FloatBuffer mapped = ch.map(FileChannel.MapMode.READ_ONLY, 0, n * 4L).order(ByteOrder.LITTLE_ENDIAN)
                    .asFloatBuffer();
            FloatBuffer heap = FloatBuffer.wrap(new float[n]);
            FloatBuffer direct = ByteBuffer.allocateDirect(n * 4).asFloatBuffer();
            for (int i = 0; i < n; i++) {
                heap.put(i, i);
                direct.put(i, i);
            }
            MappedPages pages = MappedPages.snapshot();
            pages.release(mapped);
            pages.release(heap);
            pages.release(direct);
            pages.release(null);
            for (int i = 0; i < n; i++) {
                assertEquals(i * 0.5f, mapped.get(i));
                assertEquals(i, heap.get(i));
                assertEquals(i, direct.get(i));
            }
        }
    }
}
