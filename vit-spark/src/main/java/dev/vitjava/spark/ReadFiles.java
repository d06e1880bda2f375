package dev.vitjava.spark;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.sql.Timestamp;
import java.util.Iterator;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;

/**
 * Reads local files named by {@code (path, uri)} rows into rows of Spark's {@code binaryFile} schema
 * ({@code path, modificationTime, length, content}), one file in memory at a time. A file that cannot be read, that
 * no array can hold (2 GB and more) or that is not a regular file gets no content: {@link InferPartition} then
 * decodes it from its path as the CLI does, which reports it in the CLI's words (Spark's own reader fails the job).
 */
final class ReadFiles implements MapPartitionsFunction<Row, Row> {

    @Override
    public Iterator<Row> call(Iterator<Row> input) {
        return new Iterator<>() {
            @Override
            public boolean hasNext() {
                return input.hasNext();
            }

            @Override
            public Row next() {
                Row r = input.next();
                return read(r.getString(0), Path.of(URI.create(r.getString(1))));
            }
        };
    }

    private static Row read(String name, Path file) {
        BasicFileAttributes attrs;
        try {
            attrs = Files.readAttributes(file, BasicFileAttributes.class);
        } catch (IOException e) {
            return RowFactory.create(name, new Timestamp(0), 0L, null);
        }
        Timestamp modified = new Timestamp(attrs.lastModifiedTime().toMillis());
        try {
            // a pipe or device is not read here (it could block, or never end): the decoder refuses it by its path
            byte[] content = !attrs.isRegularFile() || attrs.size() > MAX_BYTES ? null : Files.readAllBytes(file);
            return RowFactory.create(name, modified, attrs.size(), content);
        } catch (IOException | OutOfMemoryError e) {
            return RowFactory.create(name, modified, attrs.size(), null);
        }
    }

    /** The largest array the JVM allocates. */
    private static final long MAX_BYTES = Integer.MAX_VALUE - 8;
}
