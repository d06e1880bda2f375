package dev.vitjava.cli;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.vitjava.VitException;
import dev.vitjava.io.Outputs;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.Writer;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Writes embeddings row by row as they are computed, so memory holds one batch, not the whole set. The output
 * appears only when complete ({@link #finish}): text formats go to a temporary file beside the target that is
 * renamed over it; the binary formats, whose header states the row count, stream the rows to a temporary data file
 * and write header and data into the target's temporary file at the end. {@link #close} without {@code finish}
 * removes the temporaries and leaves no output.
 */
abstract class EmbeddingWriter implements AutoCloseable {

    enum Format {
        safetensors, npy, csv, jsonl;

        /** From the output file's extension (.safetensors, .npy, .csv, .jsonl or .json). */
        static Format of(Path output) {
            String name = output.getFileName().toString().toLowerCase(Locale.ROOT);
            for (Format f : values()) {
                if (name.endsWith("." + f.name())) {
                    return f;
                }
            }
            if (name.endsWith(".json")) {
                return jsonl;
            }
            throw new VitException("--output " + output + ": cannot tell the format from the extension; give --format"
                    + " safetensors|npy|csv|jsonl");
        }
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    final Path target;
    /** Shape of one row: (D) or (T, D). */
    final int[] rowShape;
    final int rowSize;
    final List<String> files = new ArrayList<>();
    private final List<Path> temporaries = new ArrayList<>();
    private boolean finished;

    EmbeddingWriter(Path target, int[] rowShape) {
        this.target = target;
        this.rowShape = rowShape.clone();
        int n = 1;
        for (int d : rowShape) {
            n = Math.multiplyExact(n, d);
        }
        this.rowSize = n;
    }

    /**
     * @param metadata kept in the file where the format has room for it (safetensors)
     */
    static EmbeddingWriter open(Path target, Format format, int[] rowShape, Map<String, String> metadata) {
        Path dir = target.toAbsolutePath().getParent();
        if (dir == null || !Files.isDirectory(dir)) {
            throw new VitException("--output " + target + ": directory " + dir + " does not exist");
        }
        if (Files.isDirectory(target)) {
            throw new VitException("--output " + target + ": is a directory");
        }
        if (format == Format.csv && rowShape.length > 1) {
            throw new VitException("--format csv holds one vector per image; use --pool cls or mean, or another"
                    + " format for --pool tokens");
        }
        return switch (format) {
            case safetensors, npy -> new Binary(target, rowShape, format, metadata);
            case csv, jsonl -> new Text(target, rowShape, format);
        };
    }

    Path temporary(String suffix) {
        try {
            Path tmp = Outputs.temporaryBeside(target, suffix);
            temporaries.add(tmp);
            return tmp;
        } catch (IOException e) {
            throw failure(e);
        }
    }

    VitException failure(IOException e) {
        return new VitException("--output " + target + ": cannot write: " + e.getMessage(), e);
    }

    /** Appends one image's row ({@link #rowSize} floats from {@code values[offset]}). */
    final void write(String file, float[] values, int offset) {
        try {
            writeRow(file, values, offset);
        } catch (IOException e) {
            throw failure(e);
        }
        files.add(file);
    }

    abstract void writeRow(String file, float[] values, int offset) throws IOException;

    /** Completes the file and moves it into place. */
    final void finish() {
        try {
            Outputs.moveInto(complete(), target);
        } catch (IOException e) {
            throw failure(e);
        }
        finished = true;
    }

    /** Closes the streams and returns the complete temporary file. */
    abstract Path complete() throws IOException;

    abstract void closeStreams() throws IOException;

    @Override
    public void close() {
        try {
            closeStreams();
        } catch (IOException e) {
            if (!finished) {
                throw failure(e);
            }
        } finally {
            temporaries.forEach(Outputs::deleteQuietly);
        }
    }

    /** safetensors and .npy: little-endian float32 rows after a header that states their number. */
    private static final class Binary extends EmbeddingWriter {
        private final Format format;
        private final Map<String, String> metadata;
        private final Path data;
        private final OutputStream out;
        private final ByteBuffer row;

        Binary(Path target, int[] rowShape, Format format, Map<String, String> metadata) {
            super(target, rowShape);
            this.format = format;
            this.metadata = metadata;
            this.data = temporary(".data");
            try {
                this.out = new BufferedOutputStream(Files.newOutputStream(data), 1 << 16);
            } catch (IOException e) {
                throw failure(e);
            }
            this.row = ByteBuffer.allocate(4 * rowSize).order(ByteOrder.LITTLE_ENDIAN);
        }

        @Override
        void writeRow(String file, float[] values, int offset) throws IOException {
            row.clear();
            row.asFloatBuffer().put(values, offset, rowSize);
            out.write(row.array());
        }

        @Override
        Path complete() throws IOException {
            out.close();
            long[] shape = new long[rowShape.length + 1];
            shape[0] = files.size();
            for (int i = 0; i < rowShape.length; i++) {
                shape[i + 1] = rowShape[i];
            }
            byte[] header = format == Format.npy ? npyHeader(shape) : safetensorsHeader(shape);
            Path tmp = temporary(".tmp");
            try (FileChannel dst = FileChannel.open(tmp, StandardOpenOption.WRITE);
                 FileChannel src = FileChannel.open(data, StandardOpenOption.READ)) {
                dst.write(ByteBuffer.wrap(header));
                long size = src.size();
                for (long at = 0; at < size; ) {
                    at += src.transferTo(at, size - at, dst);
                }
            }
            return tmp;
        }

        /** NumPy format 1.0: magic, version, header length, a Python dict literal padded to 64 bytes. */
        private static byte[] npyHeader(long[] shape) {
            StringBuilder dims = new StringBuilder();
            for (long d : shape) {
                dims.append(d).append(", ");
            }
            String dict = "{'descr': '<f4', 'fortran_order': False, 'shape': ("
                    + (shape.length == 1 ? dims : dims.substring(0, dims.length() - 2)) + "), }";
            int unpadded = 10 + dict.length() + 1;
            int total = (unpadded + 63) / 64 * 64;
            if (total - 10 > 0xffff) {
                throw new VitException("npy header too long");
            }
            String header = dict + " ".repeat(total - unpadded) + "\n";
            ByteBuffer b = ByteBuffer.allocate(total).order(ByteOrder.LITTLE_ENDIAN);
            b.put((byte) 0x93).put("NUMPY".getBytes(StandardCharsets.US_ASCII)).put((byte) 1).put((byte) 0)
                    .putShort((short) (total - 10)).put(header.getBytes(StandardCharsets.US_ASCII));
            return b.array();
        }

        private byte[] safetensorsHeader(long[] shape) {
            ObjectNode header = JSON.createObjectNode();
            ObjectNode meta = header.putObject("__metadata__");
            metadata.forEach(meta::put);
            meta.put("files", JSON.valueToTree(files).toString());
            ObjectNode entry = header.putObject("embeddings");
            entry.put("dtype", "F32");
            var dims = entry.putArray("shape");
            long bytes = 4;
            for (long d : shape) {
                dims.add(d);
                bytes *= d;
            }
            entry.putArray("data_offsets").add(0).add(bytes);
            byte[] json = header.toString().getBytes(StandardCharsets.UTF_8);
            int padded = (json.length + 7) / 8 * 8;
            ByteBuffer b = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
            b.putLong(padded).put(json);
            while (b.hasRemaining()) {
                b.put((byte) ' ');
            }
            return b.array();
        }

        @Override
        void closeStreams() throws IOException {
            out.close();
        }
    }

    /** CSV ({@code file,e0,e1,…}) and JSON lines ({@code {"file": …, "embedding": […]}}). */
    private static final class Text extends EmbeddingWriter {
        private final Format format;
        private final Path tmp;
        private final Writer out;
        private final JsonGenerator json;

        Text(Path target, int[] rowShape, Format format) {
            super(target, rowShape);
            this.format = format;
            this.tmp = temporary(".tmp");
            try {
                this.out = Files.newBufferedWriter(tmp, StandardCharsets.UTF_8);
                this.json = JSON.getFactory().createGenerator(out);
                json.setRootValueSeparator(null);
                if (format == Format.csv) {
                    out.write("file");
                    for (int j = 0; j < rowSize; j++) {
                        out.write(",e" + j);
                    }
                    out.write('\n');
                }
            } catch (IOException e) {
                throw failure(e);
            }
        }

        @Override
        void writeRow(String file, float[] values, int offset) throws IOException {
            if (format == Format.csv) {
                out.write(ClassifyCommand.csv(file));
                for (int j = 0; j < rowSize; j++) {
                    out.write(',');
                    out.write(Float.toString(values[offset + j]));
                }
                out.write('\n');
                return;
            }
            json.writeStartObject();
            json.writeStringField("file", file);
            json.writeFieldName("embedding");
            int inner = rowShape[rowShape.length - 1];
            if (rowShape.length > 1) {
                json.writeStartArray();
            }
            for (int r = 0; r < rowSize; r += inner) {
                json.writeStartArray();
                for (int j = 0; j < inner; j++) {
                    json.writeNumber(values[offset + r + j]);
                }
                json.writeEndArray();
            }
            if (rowShape.length > 1) {
                json.writeEndArray();
            }
            json.writeEndObject();
            json.flush();
            out.write('\n');
        }

        @Override
        Path complete() throws IOException {
            json.close();
            out.close();
            return tmp;
        }

        @Override
        void closeStreams() throws IOException {
            json.close();
            out.close();
        }
    }
}
