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
        return start(offline, List.of(), args);
    }

    private Process start(boolean offline, List<String> jvmOptions, String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules", "jdk.incubator.vector"));
        cmd.addAll(jvmOptions);
        cmd.addAll(List.of("-jar", JAR.toString()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().put("HF_ENDPOINT", server.endpoint());
        pb.environment().put("HF_HUB_CACHE", cache.toString());
        pb.environment().put("HF_HUB_OFFLINE", offline ? "1" : "0");
        return pb.start();
    }

    private static String[] result(Process p) throws IOException, InterruptedException {
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        // the JVM's notice about the incubator module is not ours; the bar's \r stay as they are
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8)
                .replaceAll("(?m)^WARNING: Using incubator modules: jdk.incubator.vector\r?\n", "");
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        return new String[] {Integer.toString(p.exitValue()), out, err};
    }

    private String[] run(boolean offline, String... args) throws IOException, InterruptedException {
        return result(start(offline, args));
    }

    private String[] run(boolean offline, List<String> jvmOptions, String... args)
            throws IOException, InterruptedException {
        return result(start(offline, jvmOptions, args));
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
        assertThat(traversal[2].strip()).contains("invalid ETag").doesNotContain("\n");
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
                        + ") at revision main, and HF_HUB_OFFLINE is set");
        String[] unknown = run(true, "inspect", "vit_huge_patch14_224");
        assertThat(unknown[0]).isEqualTo("1");
        assertThat(unknown[2].strip()).startsWith("vit: vit_huge_patch14_224: no such file, and not a timm ViT")
                .contains("timm/vit_base_patch16_224.augreg2_in21k_ft_in1k");
    }

    /** A download cut off mid-file: the error has a line of its own after the bar, says so, and a rerun resumes. */
    @Test
    void interruptedDownloadSaysSoOnItsOwnLineAndResumes() throws Exception {
        String sample = Path.of("..", "samples", "0000-ankle-boot.png").toString();
        server.fault = FakeHub.Fault.TRUNCATED_WITH_LENGTH; // every try cut off
        String[] cut = run(false, List.of("-Dvit.stderr.tty=true"), "inspect", "--no-tensors",
                "zalando/vit-fashion-mnist");
        assertThat(cut[0]).isEqualTo("1");
        List<String> lines = List.of(cut[2].split("\n")); // \r separates the bar's frames within a line
        // config.json's bar, one bar per try of model.safetensors (three), the error
        assertThat(lines).as(cut[2]).hasSize(5);
        assertThat(lines.subList(1, 4)).as("the bars were drawn")
                .allMatch(l -> l.startsWith("\rzalando/vit-fashion-mnist/model.safetensors ["));
        assertThat(lines.get(4)).startsWith("vit: zalando/vit-fashion-mnist/model.safetensors: download stopped after")
                .endsWith("; run the command again to resume it");

        server.fault = FakeHub.Fault.NONE;
        server.ranges.clear();
        String[] again = run(false, "classify", "-k", "1", "--backend", "reference", "--model",
                "zalando/vit-fashion-mnist", sample);
        assertThat(again[0]).as(again[2]).isEqualTo("0");
        assertThat(again[1].strip()).as("the resumed file is whole").isEqualTo(sample + ": Ankle boot 0.7325");
        assertThat(server.ranges).as("resumed, not restarted").hasSize(1).first().asString().matches("bytes=[1-9]\\d*-");
        assertThat(again[2]).as("no bar when stderr is no terminal").isEmpty();
    }
}
