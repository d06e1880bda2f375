package dev.vitjava.cli;

import dev.vitjava.VitException;
import java.io.IOException;
import java.io.InputStream;
import java.net.JarURLConnection;
import java.net.URL;
import java.net.URLConnection;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;

/**
 * The bundled default model: a ViT trained on Fashion-MNIST (28×28 grayscale, MIT licensed), shipped inside the
 * jar and unpacked once into the user cache so it can be memory-mapped like any other checkpoint.
 */
final class DemoModel {

    static final String NAME = "vit-fashion-mnist";
    private static final String[] FILES = {"config.json", "model.safetensors"};

    private DemoModel() {
    }

    static Path directory() {
        Path dir = cacheRoot().resolve("vit-java").resolve("demo").resolve(NAME + "-" + version());
        try {
            if (!Files.isRegularFile(dir.resolve("model.safetensors"))) {
                Files.createDirectories(dir);
                for (String f : FILES) {
                    try (InputStream in = DemoModel.class.getResourceAsStream("demo/" + NAME + "/" + f)) {
                        if (in == null) {
                            throw new VitException("the bundled demo model is missing from this build (" + f + ")");
                        }
                        Path tmp = Files.createTempFile(dir, f, ".part");
                        Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
                        Files.move(tmp, dir.resolve(f), StandardCopyOption.ATOMIC_MOVE,
                                StandardCopyOption.REPLACE_EXISTING);
                    }
                }
            }
        } catch (IOException e) {
            throw new VitException(dir + ": cannot unpack the demo model: " + e.getMessage(), e);
        }
        return dir;
    }

    /** XDG_CACHE_HOME, else ~/.cache. */
    static Path cacheRoot() {
        String xdg = System.getenv("XDG_CACHE_HOME");
        return xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache");
    }

    /**
     * What names this build's demo model: the CRC-32 the jar already stores for the entry (reading and hashing the
     * 2.7 MB resource took about 40 ms of every start); a hash of the bytes when it is not in a jar (tests, IDEs).
     */
    private static String version() {
        URL url = DemoModel.class.getResource("demo/" + NAME + "/model.safetensors");
        if (url == null) {
            return "missing";
        }
        try {
            URLConnection connection = url.openConnection();
            if (connection instanceof JarURLConnection jar) {
                return Long.toHexString(jar.getJarEntry().getCrc());
            }
            try (InputStream in = connection.getInputStream()) {
                return Integer.toHexString(Arrays.hashCode(in.readAllBytes()));
            }
        } catch (IOException e) {
            return "unknown";
        }
    }
}
