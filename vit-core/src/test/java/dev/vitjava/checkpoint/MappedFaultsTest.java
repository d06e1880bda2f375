package dev.vitjava.checkpoint;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.vitjava.engine.ReferenceEngine;
import dev.vitjava.model.RandomWeights;
import dev.vitjava.model.ViTConfig;
import dev.vitjava.model.ViTModel;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A checkpoint truncated while mapped: the JVM's InternalError is recognised and named after the file. */
class MappedFaultsTest {

    @TempDir
    Path tmp;

    @Test
    void aModelTruncatedDuringARunIsReportedAgainstItsFile() throws IOException {
        ViTConfig c = new ViTConfig(16, 16, 8, 3, 10, 32, 2, 2, 64, true, 1e-6, true, ViTConfig.GlobalPool.TOKEN);
        Path file = tmp.resolve("model.safetensors");
        SafetensorsWriter.write(file, new ViTModel(c, RandomWeights.create(c, 1)).weights().toTimmStateDict(),
                Map.of());
        LoadedModel loaded = ModelLoader.load(file, new ModelLoader.Options(null, 2));
        ReferenceEngine engine = new ReferenceEngine(loaded.model());
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.setLength(100); // the weights' pages are gone
        }
        Throwable fault = catchThrowable(() -> engine.forward(RandomWeights.pixels(2, 1, 3, 16, 16), false));
        assertThat(MappedFaults.isFault(fault)).as(String.valueOf(fault)).isTrue();
        assertThat(MappedFaults.describe(file, fault).getMessage()).startsWith(file + ": the file was truncated");
        assertThat(MappedFaults.isFault(new InternalError("other"))).isFalse();
    }
}
