package dev.vitjava.checkpoint;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vitjava.VitException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
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
        try {
            long size = Files.size(file);
            if (size > maxBytes) {
                throw new VitException(file + ": " + size + " bytes is too large for a JSON config (limit "
                        + maxBytes + ")");
            }
            return parse(file, Files.readAllBytes(file));
        } catch (NoSuchFileException e) {
            throw new VitException(file + ": no such file");
        } catch (IOException e) {
            throw new VitException(file + ": cannot read: " + e.getMessage());
        }
    }

    /** Parses JSON bytes; the result is never null (empty input is an error). */
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
