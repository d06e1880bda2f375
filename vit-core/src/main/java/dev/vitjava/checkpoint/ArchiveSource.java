package dev.vitjava.checkpoint;

import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** What the zip-based formats share: the archive, the tensor table and the notes. */
abstract class ArchiveSource implements TensorSource {

    final ZipArchive zip;
    private final Map<String, Info> infos;
    private final List<String> notes;

    ArchiveSource(ZipArchive zip, List<Info> infos, List<String> notes) {
        this.zip = zip;
        Map<String, Info> byName = new LinkedHashMap<>();
        infos.forEach(i -> byName.put(i.name(), i));
        this.infos = Collections.unmodifiableMap(byName);
        this.notes = List.copyOf(notes);
    }

    @Override
    public Path path() {
        return zip.path();
    }

    @Override
    public Map<String, Info> tensors() {
        return infos;
    }

    @Override
    public List<String> notes() {
        return notes;
    }

    @Override
    public void close() {
        zip.close();
    }
}
