package dev.vitjava.checkpoint;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vitjava.VitException;
import dev.vitjava.io.SafeFiles;
import java.io.IOException;
import java.nio.file.Path;

/** Reads the JSON files that come with checkpoints, with a size limit and one-line errors. */
final class Json {

    /** Configs, preprocessor configs and shard indexes are kilobytes; anything this large is not one. */
    static final long MAX_BYTES = 64L << 20;
    static final ObjectMapper MAPPER = new ObjectMapper();

    private Json() {
    }

    static JsonNode read(Path file) {
        return read(file, MAX_BYTES);
    }

    static JsonNode read(Path file, long maxBytes) {
        return parse(file, SafeFiles.readRegularFile(file, maxBytes)); // a regular file: a FIFO would block
    }

    static JsonNode parse(Path file, byte[] bytes) {
        try {
            JsonNode node = MAPPER.readTree(bytes);
            if (node == null || node.isMissingNode()) {
                throw new VitException(file + ": empty, not JSON");
            }
            return node;
        } catch (JsonProcessingException e) {
            throw new VitException(file + ": not valid JSON (" + e.getOriginalMessage().lines().findFirst().orElse("")
                    + ")");
        } catch (IOException e) {
            throw new VitException(file + ": cannot read: " + e.getMessage());
        }
    }
}
