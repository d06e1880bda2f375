package dev.vitjava.tests;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The packaged CLI as a user runs it (a separate JVM on the shaded jar), classifying with a model id that it
 * downloads from a fake Hugging Face Hub on loopback serving the demo model, then again offline from the cache.
 */
class HubClassifyTest {

    static final Path DEMO = Path.of("..", "vit-cli", "src", "main", "resources", "dev", "vitjava", "cli", "demo",
            "vit-fashion-mnist");
    static final Path JAR = Path.of("..", "vit-cli", "target", "vit.jar");

    @TempDir
    Path cache;

    private HttpServer server;

    @BeforeEach
    void start() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/zalando/vit-fashion-mnist/resolve/main/", this::serve);
        server.start();
    }

    @AfterEach
    void stop() {
        server.stop(0);
    }

    private void serve(HttpExchange ex) throws IOException {
        String name = Path.of(ex.getRequestURI().getPath()).getFileName().toString();
        Path file = DEMO.resolve(name);
        if (!Files.isRegularFile(file)) {
            ex.sendResponseHeaders(404, -1);
            ex.close();
            return;
        }
        byte[] body = Files.readAllBytes(file);
        ex.getResponseHeaders().add("X-Repo-Commit", "c0ffee0000000000000000000000000000000000");
        ex.getResponseHeaders().add("ETag", "\"" + Integer.toHexString(java.util.Arrays.hashCode(body)) + "\"");
        if (ex.getRequestMethod().equals("HEAD")) {
            ex.getResponseHeaders().add("Content-Length", Integer.toString(body.length));
            ex.sendResponseHeaders(200, -1);
        } else {
            ex.sendResponseHeaders(200, body.length);
            try (OutputStream out = ex.getResponseBody()) {
                out.write(body);
            }
        }
        ex.close();
    }

    private String[] run(boolean offline, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules", "jdk.incubator.vector", "-jar", JAR.toString()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().put("HF_ENDPOINT", "http://127.0.0.1:" + server.getAddress().getPort());
        pb.environment().put("HF_HUB_CACHE", cache.toString());
        pb.environment().put("HF_HUB_OFFLINE", offline ? "1" : "0");
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        return new String[] {Integer.toString(p.exitValue()), out, err};
    }

    @Test
    void classifiesWithAHubModelThenOffline() throws Exception {
        String sample = Path.of("..", "samples", "0000-ankle-boot.png").toString();
        String[] online = run(false, "classify", "-k", "1", "--model", "zalando/vit-fashion-mnist", sample);
        assertThat(online[0]).as(online[2]).isEqualTo("0");
        assertThat(online[1].strip()).isEqualTo(sample + ": Ankle boot 0.7325");
        assertThat(cache.resolve("models--zalando--vit-fashion-mnist").resolve("refs").resolve("main")).exists();

        server.stop(0);
        String[] offline = run(true, "classify", "-k", "1", "--model", "zalando/vit-fashion-mnist", sample);
        assertThat(offline[0]).as(offline[2]).isEqualTo("0");
        assertThat(offline[1].strip()).isEqualTo(sample + ": Ankle boot 0.7325");

        String[] missing = run(true, "classify", "--model", "zalando/other-model", sample);
        assertThat(missing[0]).isEqualTo("1");
        assertThat(missing[2]).contains("zalando/other-model").contains("HF_HUB_OFFLINE").doesNotContain("Exception");
    }
}
