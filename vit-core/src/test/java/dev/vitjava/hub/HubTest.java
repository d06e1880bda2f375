package dev.vitjava.hub;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.vitjava.VitException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Downloads from a fake hub on loopback, never the internet. */
class HubTest {

    private static final String COMMIT = "0123456789abcdef0123456789abcdef01234567";

    @TempDir
    Path cache;

    private HttpServer server;
    private final byte[] weights = new byte[300_000];
    private final AtomicInteger weightRequests = new AtomicInteger();
    private final AtomicInteger rangeRequests = new AtomicInteger();

    @BeforeEach
    void start() throws IOException {
        new Random(1).nextBytes(weights);
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/org/vit-demo/resolve/main/", this::serve);
        server.createContext("/org/vit-sharded/resolve/main/", this::serveSharded);
        server.start();
    }

    @AfterEach
    void stop() {
        server.stop(0);
    }

    private String endpoint() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    private void serve(HttpExchange ex) throws IOException {
        String file = ex.getRequestURI().getPath().substring("/org/vit-demo/resolve/main/".length());
        byte[] body = switch (file) {
            case "config.json" -> "{\"architecture\": \"demo\"}".getBytes(StandardCharsets.UTF_8);
            case "model.safetensors" -> weights;
            default -> null;
        };
        if (body == null) {
            ex.sendResponseHeaders(404, -1);
            ex.close();
            return;
        }
        ex.getResponseHeaders().add("X-Repo-Commit", COMMIT);
        ex.getResponseHeaders().add("ETag", "\"" + etag(body) + "\"");
        if (ex.getRequestMethod().equals("HEAD")) {
            ex.getResponseHeaders().add("Content-Length", Integer.toString(body.length));
            ex.sendResponseHeaders(200, -1);
            ex.close();
            return;
        }
        int from = 0;
        String range = ex.getRequestHeaders().getFirst("Range");
        if (file.equals("model.safetensors")) {
            weightRequests.incrementAndGet();
        }
        if (range != null) {
            rangeRequests.incrementAndGet();
            from = Integer.parseInt(range.replaceAll("bytes=(\\d+)-", "$1"));
        }
        if (range != null) {
            ex.getResponseHeaders().add("Content-Range", "bytes " + from + "-" + (body.length - 1) + "/" + body.length);
        }
        ex.sendResponseHeaders(range != null ? 206 : 200, body.length - from);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(body, from, body.length - from);
        }
    }

    /** A repository without model.safetensors: an index and two shards. */
    private void serveSharded(HttpExchange ex) throws IOException {
        String file = ex.getRequestURI().getPath().substring("/org/vit-sharded/resolve/main/".length());
        byte[] body = switch (file) {
            case "config.json" -> "{}".getBytes(StandardCharsets.UTF_8);
            case "model.safetensors.index.json" -> ("{\"weight_map\": {\"a\": \"s-1.safetensors\", "
                    + "\"b\": \"s-2.safetensors\", \"c\": \"s-1.safetensors\"}}").getBytes(StandardCharsets.UTF_8);
            case "s-1.safetensors", "s-2.safetensors" -> file.getBytes(StandardCharsets.UTF_8);
            default -> null;
        };
        ex.getResponseHeaders().add("X-Repo-Commit", COMMIT);
        if (body != null) {
            ex.getResponseHeaders().add("ETag", "\"" + etag(body) + "\"");
        }
        if (body == null || ex.getRequestMethod().equals("HEAD")) {
            ex.sendResponseHeaders(body == null ? 404 : 200, -1);
        } else {
            ex.sendResponseHeaders(200, body.length);
            try (OutputStream out = ex.getResponseBody()) {
                out.write(body);
            }
        }
        ex.close();
    }

    @Test
    void downloadsTheShardsAnIndexNames() throws IOException {
        Path snapshot = hub(false).snapshot("org/vit-sharded", "main");
        assertThat(snapshot.resolve("model.safetensors.index.json")).exists();
        assertThat(Files.readString(snapshot.resolve("s-1.safetensors"))).isEqualTo("s-1.safetensors");
        assertThat(Files.readString(snapshot.resolve("s-2.safetensors"))).isEqualTo("s-2.safetensors");
        assertThat(snapshot.resolve("model.safetensors")).doesNotExist();
        assertThat(hub(true).snapshot("org/vit-sharded", "main")).isEqualTo(snapshot);
    }

    /** The hub's ETag of an LFS file: its SHA-256. */
    static String etag(byte[] body) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(body));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private Hub hub(boolean offline) {
        return Hub.fromEnvironment(Map.of("HF_HUB_CACHE", cache.toString(), "HF_ENDPOINT", endpoint(),
                "HF_HUB_OFFLINE", offline ? "1" : "0"), null, null);
    }

    @Test
    void downloadsIntoTheHuggingFaceCacheLayout() throws IOException {
        Path snapshot = hub(false).snapshot("org/vit-demo", "main");

        Path repo = cache.resolve("models--org--vit-demo");
        assertThat(snapshot).isEqualTo(repo.resolve("snapshots").resolve(COMMIT));
        assertThat(Files.readAllBytes(snapshot.resolve("model.safetensors"))).isEqualTo(weights);
        assertThat(Files.isSymbolicLink(snapshot.resolve("model.safetensors"))).isTrue();
        assertThat(repo.resolve("blobs").resolve(etag(weights))).exists();
        assertThat(Files.readString(repo.resolve("refs").resolve("main"))).isEqualTo(COMMIT);
        assertThat(snapshot.resolve("preprocessor_config.json")).as("optional and absent").doesNotExist();

        hub(false).snapshot("org/vit-demo", "main");
        assertThat(weightRequests.get()).as("cached blobs are not downloaded again").isEqualTo(1);
        assertThat(hub(true).snapshot("org/vit-demo", "main")).isEqualTo(snapshot);
    }

    @Test
    void resumesAnInterruptedDownload() throws IOException {
        Path blobs = Files.createDirectories(cache.resolve("models--org--vit-demo").resolve("blobs"));
        byte[] firstPart = java.util.Arrays.copyOf(weights, 123_456);
        Files.write(blobs.resolve(etag(weights) + ".incomplete"), firstPart);

        Path snapshot = hub(false).snapshot("org/vit-demo", "main");

        assertThat(rangeRequests.get()).isEqualTo(1);
        assertThat(Files.readAllBytes(snapshot.resolve("model.safetensors"))).isEqualTo(weights);
    }

    @Test
    void clearErrors() throws IOException {
        assertThatThrownBy(() -> hub(true).snapshot("org/vit-demo", "main")).isInstanceOf(VitException.class)
                .hasMessageContaining("HF_HUB_OFFLINE");
        assertThatThrownBy(() -> hub(false).snapshot("org/missing", "main")).isInstanceOf(VitException.class)
                .hasMessageContaining("org/missing").hasMessageContaining("not found");
        int closedPort;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closedPort = s.getLocalPort();
        }
        Hub unreachable = new Hub(cache, "http://127.0.0.1:" + closedPort, false,
                new Hub.Settings(Duration.ofSeconds(5), Duration.ofSeconds(5), 2, Duration.ofMillis(10)), null, null);
        assertThatThrownBy(() -> unreachable.snapshot("org/vit-demo", "main")).isInstanceOf(VitException.class)
                .hasMessageContaining("cannot reach");
    }

    @Test
    void repositoryPathsStayInTheRepository() {
        assertThat(Hub.checkRepoPath("model.safetensors")).isEqualTo("model.safetensors");
        assertThat(Hub.checkRepoPath("onnx/model v2.onnx")).isEqualTo("onnx/model v2.onnx");
        for (String bad : new String[] {"../x", "a/../../x", "/etc/passwd", "a//b", "a\\b", "x\ny", "", "."}) {
            assertThatThrownBy(() -> Hub.checkRepoPath(bad)).as(bad).isInstanceOf(VitException.class);
        }
    }

    @Test
    void repoIdsAreNotPaths() {
        assertThat(Hub.isRepoId("google/vit-base-patch16-224")).isTrue();
        assertThat(Hub.isRepoId("timm/vit_base_patch16_224.augreg2_in21k_ft_in1k")).isTrue();
        assertThat(Hub.isRepoId("models/x.safetensors")).isFalse();
        assertThat(Hub.isRepoId("/abs/path")).isFalse();
        assertThat(Hub.isRepoId("a/b/c")).isFalse();
    }
}
