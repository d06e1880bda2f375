package dev.vitjava.tests;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vitjava.hub.Hub;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The packaged CLI as a user runs it (a separate JVM on the shaded jar), classifying with a model id that it
 * downloads from a fake Hugging Face Hub on loopback serving the demo model, then again offline from the cache;
 * two processes downloading at once, a hostile hub, and a damaged cache.
 */
class HubClassifyTest {

    static final Path DEMO = Path.of("..", "vit-cli", "src", "main", "resources", "dev", "vitjava", "cli", "demo",
            "vit-fashion-mnist");
    static final Path JAR = Path.of("..", "vit-cli", "target", "vit.jar");

    @TempDir
    Path tmp;

    private Path cache;
    private FakeHub server;

    @BeforeEach
    void start() throws IOException {
        cache = tmp.resolve("cache");
        server = new FakeHub("zalando/vit-fashion-mnist", Map.of(
                "config.json", Files.readAllBytes(DEMO.resolve("config.json")),
                "model.safetensors", Files.readAllBytes(DEMO.resolve("model.safetensors"))));
    }

    @AfterEach
    void stop() {
        server.close();
    }

    private Process start(boolean offline, String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules", "jdk.incubator.vector", "-jar", JAR.toString()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().put("HF_ENDPOINT", server.endpoint());
        pb.environment().put("HF_HUB_CACHE", cache.toString());
        pb.environment().put("HF_HUB_OFFLINE", offline ? "1" : "0");
        return pb.start();
    }

    private static String[] result(Process p) throws IOException, InterruptedException {
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        // the JVM's notice about the incubator module is not ours
        err = err.lines().filter(l -> !l.startsWith("WARNING: Using incubator modules")).collect(Collectors.joining("\n"));
        return new String[] {Integer.toString(p.exitValue()), out, err};
    }

    private String[] run(boolean offline, String... args) throws IOException, InterruptedException {
        return result(start(offline, args));
    }

    @Test
    void classifiesWithAHubModelThenOffline() throws Exception {
        String sample = Path.of("..", "samples", "0000-ankle-boot.png").toString();
        String[] online = run(false, "classify", "-k", "1", "--model", "zalando/vit-fashion-mnist", sample);
        assertThat(online[0]).as(online[2]).isEqualTo("0");
        assertThat(online[1].strip()).isEqualTo(sample + ": Ankle boot 0.7325");
        assertThat(cache.resolve("models--zalando--vit-fashion-mnist").resolve("refs").resolve("main")).exists();

        server.close();
        String[] offline = run(true, "classify", "-k", "1", "--model", "zalando/vit-fashion-mnist", sample);
        assertThat(offline[0]).as(offline[2]).isEqualTo("0");
        assertThat(offline[1].strip()).isEqualTo(sample + ": Ankle boot 0.7325");

        String[] missing = run(true, "classify", "--model", "zalando/other-model", sample);
        assertThat(missing[0]).isEqualTo("1");
        assertThat(missing[2]).contains("zalando/other-model").contains("HF_HUB_OFFLINE").doesNotContain("Exception");
    }

    /**
     * Two processes download one model at once (inspect loads it without the cost of an engine): both load it,
     * from one verified blob downloaded once.
     */
    @Test
    void twoProcessesDownloadOneModelAtOnce() throws Exception {
        server.fault = FakeHub.Fault.SLOW;
        Process a = start(false, "inspect", "--no-tensors", "--model", "zalando/vit-fashion-mnist");
        Process b = start(false, "inspect", "--no-tensors", "--model", "zalando/vit-fashion-mnist");
        List<String[]> results = List.of(result(a), result(b));
        for (String[] r : results) {
            assertThat(r[0]).as(r[2]).isEqualTo("0");
            assertThat(r[1]).contains("parameters    678,730");
        }
        assertThat(results).as("the second process waited on the blob's file lock")
                .filteredOn(r -> r[2].contains("another process is downloading it; waiting")).hasSize(1);
        assertThat(server.modelGets.get()).isEqualTo(1);
        try (Stream<Path> blobs = Files.list(cache.resolve("models--zalando--vit-fashion-mnist/blobs"))) {
            assertThat(blobs.map(p -> p.getFileName().toString())).hasSize(2).noneMatch(n -> n.contains("incomplete"));
        }
    }

    /** A hostile hub: exit 1, one line, nothing written outside the cache; a damaged cache is healed. */
    @Test
    void hostileAnswersAndADamagedCache() throws Exception {
        server.fault = FakeHub.Fault.TRAVERSAL_ETAG;
        String[] traversal = run(false, "inspect", "--model", "zalando/vit-fashion-mnist");
        assertThat(traversal[0]).isEqualTo("1");
        assertThat(traversal[2]).contains("invalid ETag").doesNotContain("\n");
        try (Stream<Path> all = Files.walk(tmp)) {
            assertThat(all.map(p -> p.getFileName().toString())).noneMatch(n -> n.contains("vit-escape"));
        }

        server.fault = FakeHub.Fault.NONE;
        new Hub(cache, server.endpoint(), false, Hub.Settings.defaults(), null, null)
                .snapshot("zalando/vit-fashion-mnist", "main");
        Path blob = cache.resolve("models--zalando--vit-fashion-mnist/snapshots/" + FakeHub.COMMIT
                + "/model.safetensors").toRealPath();
        Files.write(blob, Arrays.copyOf(Files.readAllBytes(blob), 1000)); // truncated in the cache
        String[] healed = run(false, "inspect", "--no-tensors", "--model", "zalando/vit-fashion-mnist");
        assertThat(healed[0]).as(healed[2]).isEqualTo("0");
        assertThat(healed[1]).contains("parameters    678,730");
        assertThat(healed[2]).contains("damaged in the cache").contains("downloading it again");
        assertThat(server.modelGets.get()).isEqualTo(2);
    }
}
