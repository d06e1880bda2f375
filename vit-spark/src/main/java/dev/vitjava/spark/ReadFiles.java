package dev.vitjava.spark;

import dev.vitjava.VitException;
import dev.vitjava.io.SafeFiles;
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
 * ({@code path, modificationTime, length, content}), one file in memory at a time. A file that cannot be read fails
 * the task with one line naming it, as Spark's own {@code binaryFile} reader does.
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
        try {
            BasicFileAttributes attrs = Files.readAttributes(file, BasicFileAttributes.class);
            if (attrs.size() > Integer.MAX_VALUE - 8) {
                throw new VitException(name + ": cannot read: " + attrs.size() + " bytes, more than a Java array holds");
            }
            return RowFactory.create(name, new Timestamp(attrs.lastModifiedTime().toMillis()), attrs.size(),
                    Files.readAllBytes(file));
        } catch (IOException e) {
            throw new VitException(name + ": cannot read: " + SafeFiles.describe(e), e);
        }
    }
}
