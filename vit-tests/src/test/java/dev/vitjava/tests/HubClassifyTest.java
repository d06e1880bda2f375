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
    /** When set, the next GET of model.safetensors sends half its bytes and hangs up. */
    private volatile boolean truncateNext;
    /** Range headers of the GET requests received. */
    private final List<String> ranges = new java.util.concurrent.CopyOnWriteArrayList<>();

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
        String range = ex.getRequestHeaders().getFirst("Range");
        if (ex.getRequestMethod().equals("HEAD")) {
            ex.getResponseHeaders().add("Content-Length", Integer.toString(body.length));
            ex.sendResponseHeaders(200, -1);
        } else if (truncateNext && name.equals("model.safetensors")) {
            truncateNext = false;
            ex.sendResponseHeaders(200, body.length);
            ex.getResponseBody().write(body, 0, body.length / 2);
            ex.getResponseBody().flush();
            ex.close(); // short of the announced length: the server drops the connection
            return;
        } else if (range != null) {
            ranges.add(range);
            int from = Integer.parseInt(range.replaceAll("bytes=(\\d+)-", "$1"));
            ex.getResponseHeaders().add("Content-Range", "bytes " + from + "-" + (body.length - 1) + "/" + body.length);
            ex.sendResponseHeaders(206, body.length - from);
            try (OutputStream out = ex.getResponseBody()) {
                out.write(body, from, body.length - from);
            }
        } else {
            ex.sendResponseHeaders(200, body.length);
            try (OutputStream out = ex.getResponseBody()) {
                out.write(body);
            }
        }
        ex.close();
    }

    private String[] run(boolean offline, String... args) throws IOException, InterruptedException {
        return run(offline, List.of(), args);
    }

    private String[] run(boolean offline, List<String> jvmOptions, String... args)
            throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules", "jdk.incubator.vector"));
        cmd.addAll(jvmOptions);
        cmd.addAll(List.of("-jar", JAR.toString()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().put("HF_ENDPOINT", "http://127.0.0.1:" + server.getAddress().getPort());
        pb.environment().put("HF_HUB_CACHE", cache.toString());
        pb.environment().put("HF_HUB_OFFLINE", offline ? "1" : "0");
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8)
                .replaceFirst("^WARNING: Using incubator modules: jdk.incubator.vector\r?\n", "");
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

    /** The spellings people paste (all of them: ModelIdTest): timm's hf-hub: prefix, a model page URL, timm names. */
    @Test
    void hubSpellingsAndTimmNames() throws Exception {
        for (String id : List.of("hf-hub:zalando/vit-fashion-mnist@main",
                "https://huggingface.co/zalando/vit-fashion-mnist/tree/main")) {
            String[] r = run(false, "inspect", "--no-tensors", "--model", id);
            assertThat(r[0]).as("%s: %s", id, r[2]).isEqualTo("0");
            assertThat(r[1]).contains("models--zalando--vit-fashion-mnist", "T-shirt/top, Trouser");
        }
        String[] timm = run(true, "inspect", "vit_base_patch16_224");
        assertThat(timm[0]).isEqualTo("1");
        assertThat(timm[2].strip()).as("the bare timm name is timm's default tag").isEqualTo(
                "vit: timm/vit_base_patch16_224.augreg2_in21k_ft_in1k: not in the Hugging Face cache (" + cache
                        + ") and HF_HUB_OFFLINE is set");
        String[] unknown = run(true, "inspect", "vit_huge_patch14_224");
        assertThat(unknown[0]).isEqualTo("1");
        assertThat(unknown[2].strip()).startsWith("vit: vit_huge_patch14_224: no such file, and not a timm ViT")
                .contains("timm/vit_base_patch16_224.augreg2_in21k_ft_in1k");
    }

    /** A download cut off mid-file: the error has a line of its own after the bar, says so, and a rerun resumes. */
    @Test
    void interruptedDownloadSaysSoOnItsOwnLineAndResumes() throws Exception {
        String sample = Path.of("..", "samples", "0000-ankle-boot.png").toString();
        truncateNext = true;
        String[] cut = run(false, List.of("-Dvit.stderr.tty=true"), "inspect", "--no-tensors",
                "zalando/vit-fashion-mnist");
        assertThat(cut[0]).isEqualTo("1");
        List<String> lines = List.of(cut[2].split("\n")); // \r separates the bar's frames within a line
        assertThat(lines).as(cut[2]).hasSize(3);
        assertThat(lines.get(1)).as("the bar was drawn").startsWith("\rzalando/vit-fashion-mnist/model.safetensors [");
        assertThat(lines.get(2)).startsWith("vit: zalando/vit-fashion-mnist/model.safetensors: download stopped after")
                .endsWith("; run the command again to resume it");

        String[] again = run(false, "classify", "-k", "1", "--backend", "reference", "--model",
                "zalando/vit-fashion-mnist", sample);
        assertThat(again[0]).as(again[2]).isEqualTo("0");
        assertThat(again[1].strip()).as("the resumed file is whole").isEqualTo(sample + ": Ankle boot 0.7325");
        assertThat(ranges).as("resumed, not restarted").hasSize(1).first().asString().matches("bytes=[1-9]\\d*-");
        assertThat(again[2]).as("no bar when stderr is no terminal").isEmpty();
    }
}
