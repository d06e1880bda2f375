package dev.vitjava.checkpoint;

import com.code_intelligence.jazzer.junit.FuzzTest;
import com.fasterxml.jackson.databind.JsonNode;
import dev.vitjava.VitException;
import dev.vitjava.image.ColorMode;
import dev.vitjava.image.ImageDecoder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Coverage-guided fuzzing (Jazzer) of every parser that reads untrusted bytes. Each target feeds the bytes to a
 * parser and accepts only two outcomes: a result, or a one-line {@link VitException}; any other exception, an
 * OutOfMemoryError, a hang or a crash is a finding. In the normal test suite every target runs once over its seeds
 * ({@code FormatFuzzTestInputs/<target>/}: small real files written by PyTorch, NumPy, safetensors and Pillow,
 * see scripts/make-fuzz-seeds.py) and over every past finding kept there (a finding's file stays as its regression
 * test); then {@link #anyParser} is fuzzed for a few seconds (vit-core's pom). {@code scripts/fuzz TARGET DURATION}
 * fuzzes one target for longer.
 */
class FormatFuzzTest {

    /** Images this large would only slow the fuzzer; the limit itself is what is being exercised. */
    private static final ImageDecoder IMAGES = new ImageDecoder(1 << 16);
    /** Shapes of a tiny timm model for the config readers: dim 4, 3 classes. */
    private static final Map<String, int[]> SHAPES = Map.of("head.weight", new int[] {3, 4},
            "patch_embed.proj.weight", new int[] {4, 3, 2, 2}, "pos_embed", new int[] {1, 5, 4},
            "blocks.0.mlp.fc1.weight", new int[] {8, 4}, "blocks.0.norm1.weight", new int[] {4});
    private static ZipArchive pickleHost;
    /** Each input becomes a file; in memory (tmpfs) where there is one, which is several times faster than disk. */
    private static final Path TEMP = Files.isDirectory(Path.of("/dev/shm")) ? Path.of("/dev/shm")
            : Path.of(System.getProperty("java.io.tmpdir"));

    /** Every target at once, chosen by the first byte: the short fuzzing run of the normal test suite. */
    @FuzzTest(maxDuration = "5s")
    void anyParser(byte[] data) {
        if (data.length == 0) {
            return;
        }
        byte[] rest = java.util.Arrays.copyOfRange(data, 1, data.length);
        switch (Math.floorMod(data[0], 6)) {
            case 0 -> safetensors(rest);
            case 1 -> checkpoint(rest);
            case 2 -> pickle(rest);
            case 3 -> npy(rest);
            case 4 -> config(rest);
            default -> image(rest);
        }
    }

    @FuzzTest
    void safetensors(byte[] data) {
        withFile(data, ".safetensors", file -> {
            try (Safetensors st = Safetensors.open(file)) {
                readAll(st);
            }
        });
    }

    /** Any file through the format sniffing: zip archives (torch.save, .npz), pickles, safetensors. */
    @FuzzTest
    void checkpoint(byte[] data) {
        withFile(data, ".pth", file -> {
            try (TensorSource source = Checkpoints.open(file, false)) {
                readAll(source);
            }
        });
    }

    /** The unpickler and the state-dict search, on a real torch.save archive whose storages it may reference. */
    @FuzzTest
    void pickle(byte[] data) {
        ZipArchive zip = pickleHost();
        expectVitException(() -> readAll(TorchCheckpoint.fromPickle(zip, "state_dict/", ByteBuffer.wrap(data), false)));
        expectVitException(() -> readAll(TorchCheckpoint.fromPickle(zip, "state_dict/", ByteBuffer.wrap(data), true)));
    }

    /** One .npy member of an .npz. */
    @FuzzTest
    void npy(byte[] data) {
        withFile(npz(data), ".npz", file -> {
            try (TensorSource source = Checkpoints.open(file, false)) {
                readAll(source);
            }
        });
    }

    /** config.json and preprocessor_config.json readers. */
    @FuzzTest
    void config(byte[] data) {
        Path file = Path.of("config.json");
        expectVitException(() -> {
            JsonNode json = Json.parse(file, data);
            ConfigReader.fromJson(file, json, Naming.TIMM, SHAPES::get);
            Labels.of(file, json, 3);
        });
        expectVitException(() -> PreprocessingReader.fromConfig(Json.parse(file, data)));
    }

    @FuzzTest
    void image(byte[] data) {
        expectVitException(() -> IMAGES.decode(data, "fuzz").convert(ColorMode.RGB));
    }

    private static void readAll(TensorSource source) {
        for (String name : source.tensors().keySet()) {
            if (source.info(name).dtype().isFloat()) {
                source.tensor(name);
            }
        }
        source.notes();
        source.format();
    }

    private static void expectVitException(Runnable r) {
        try {
            r.run();
        } catch (VitException expected) {
            if (expected.getMessage() == null || expected.getMessage().contains("\n")) {
                throw new AssertionError("not a one-line message: " + expected.getMessage());
            }
        }
    }

    private interface FileAction {
        void run(Path file);
    }

    private static void withFile(byte[] data, String suffix, FileAction action) {
        Path file;
        try {
            file = Files.createTempFile(TEMP, "vit-fuzz", suffix);
            Files.write(file, data);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        try {
            expectVitException(() -> action.run(file));
        } finally {
            try {
                Files.deleteIfExists(file);
            } catch (IOException ignored) {
                // a temp file
            }
        }
    }

    /** A stored zip holding one member, embedding/kernel.npy, with the given bytes. */
    private static byte[] npz(byte[] npy) {
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        try (java.util.zip.ZipOutputStream zip = new java.util.zip.ZipOutputStream(bytes)) {
            java.util.zip.ZipEntry e = new java.util.zip.ZipEntry("embedding/kernel.npy");
            java.util.zip.CRC32 crc = new java.util.zip.CRC32();
            crc.update(npy);
            e.setMethod(java.util.zip.ZipEntry.STORED);
            e.setSize(npy.length);
            e.setCrc(crc.getValue());
            zip.putNextEntry(e);
            zip.write(npy);
            zip.closeEntry();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    private static synchronized ZipArchive pickleHost() {
        if (pickleHost == null) {
            try {
                pickleHost = ZipArchive.open(Path.of(FormatFuzzTest.class
                        .getResource("FormatFuzzTestInputs/checkpoint/state_dict.pth").toURI()));
            } catch (URISyntaxException e) {
                throw new IllegalStateException(e);
            }
        }
        return pickleHost;
    }
}
