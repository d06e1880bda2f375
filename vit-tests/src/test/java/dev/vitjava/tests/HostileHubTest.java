package dev.vitjava.tests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vitjava.VitException;
import dev.vitjava.hub.Hub;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The hub client against a misbehaving server on loopback: every failure is a one-line error, nothing is written
 * outside the cache, and the cache holds only verified blobs afterwards (partial downloads stay .incomplete).
 * Timeouts are short for the stalls (0.3 s) so they cost little.
 */
class HostileHubTest {

    private static final String REPO = "org/vit-hostile";
    /** For the stalls. */
    private static final Hub.Settings FAST = new Hub.Settings(Duration.ofMillis(300), Duration.ofMillis(300), 2,
            Duration.ofMillis(10));
    /** For the rest: timeouts no loaded test machine reaches. */
    private static final Hub.Settings PATIENT = new Hub.Settings(Duration.ofSeconds(20), Duration.ofSeconds(20), 2,
            Duration.ofMillis(10));

    @TempDir
    Path tmp;

    private Path cache;
    private FakeHub server;
    private final byte[] weights = new byte[200_000];
    private final byte[] config = "{\"architecture\": \"demo\"}".getBytes(StandardCharsets.UTF_8);
    private final List<String> notices = new ArrayList<>();

    @BeforeEach
    void start() throws IOException {
        new Random(7).nextBytes(weights);
        cache = tmp.resolve("cache");
        server = new FakeHub(REPO, Map.of("config.json", config, "model.safetensors", weights));
    }

    @AfterEach
    void stop() {
        server.close();
    }

    private Hub hub() {
        boolean stall = server.fault == FakeHub.Fault.STALL_BODY || server.fault == FakeHub.Fault.STALL_HEADERS;
        return new Hub(cache, server.endpoint(), false, stall ? FAST : PATIENT, null, notices::add);
    }

    private Path snapshotWith(FakeHub.Fault fault) {
        server.fault = fault;
        return hub().snapshot(REPO, "main");
    }

    /** The failure is a one-line VitException containing {@code expected}; the cache holds no unverified blob. */
    private void expectFailure(FakeHub.Fault fault, String expected) throws IOException {
        assertThatThrownBy(() -> snapshotWith(fault)).as(fault.name()).isInstanceOf(VitException.class)
                .hasMessageContaining(REPO).hasMessageContaining(expected)
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
        assertCacheConsistent();
    }

    /** Every finished blob matches its name; every snapshot link resolves; nothing escaped the cache. */
    private void assertCacheConsistent() throws IOException {
        try (Stream<Path> all = Files.walk(tmp)) {
            for (Path p : all.toList()) {
                assertThat(p.getFileName().toString()).as("written outside the cache's names").doesNotContain("vit-escape");
                if (p.getParent().getFileName().toString().equals("blobs") && !p.toString().endsWith(".incomplete")) {
                    assertThat(FakeHub.sha256(Files.readAllBytes(p))).as(p.toString()).isEqualTo(p.getFileName().toString());
                }
                if (Files.isSymbolicLink(p)) {
                    assertThat(p).as("dangling link").exists();
                }
            }
        }
        assertThat(Path.of("/tmp/vit-escape")).doesNotExist();
    }

    private void assertDownloaded(Path snapshot) throws IOException {
        assertThat(snapshot).isEqualTo(cache.resolve("models--org--vit-hostile/snapshots/" + FakeHub.COMMIT));
        assertThat(Files.readAllBytes(snapshot.resolve("model.safetensors"))).isEqualTo(weights);
        assertThat(Files.readAllBytes(snapshot.resolve("config.json"))).isEqualTo(config);
        assertCacheConsistent();
    }

    @Test
    void pathTraversalFromTheServerOrTheCommandLineIsRefused() throws IOException {
        expectFailure(FakeHub.Fault.TRAVERSAL_ETAG, "invalid ETag");
        expectFailure(FakeHub.Fault.TRAVERSAL_COMMIT, "invalid commit");
        server.fault = FakeHub.Fault.NONE;
        for (String revision : List.of("../../../vit-escape", "/tmp/vit-escape", "a b", "main\nx", "refs/../..", "")) {
            assertThatThrownBy(() -> hub().snapshot(REPO, revision)).isInstanceOf(VitException.class)
                    .hasMessageContaining("--revision");
        }
        assertThatThrownBy(() -> hub().snapshot("../..", "main")).isInstanceOf(VitException.class);
        assertCacheConsistent();
    }

    @Test
    void serverErrorsAndHtmlPagesNeverEnterTheCache() throws IOException {
        expectFailure(FakeHub.Fault.ERROR_500, "HTTP 500");
        expectFailure(FakeHub.Fault.HTML_BODY, "HTML page");
        assertDownloaded(snapshotWith(FakeHub.Fault.NONE));
    }

    @Test
    void truncatedBodiesAreResumedOrRefusedNeverCached() throws IOException {
        expectFailure(FakeHub.Fault.TRUNCATED_WITH_LENGTH, "run the command again to resume it");
        assertDownloaded(snapshotWith(FakeHub.Fault.NONE));
    }

    @Test
    void aTruncatedBodyWithoutAnyLengthFailsItsHash() throws IOException {
        expectFailure(FakeHub.Fault.TRUNCATED_NO_LENGTH, "do not match the file's hash");
        assertDownloaded(snapshotWith(FakeHub.Fault.NONE));
    }

    @Test
    void stallsTimeOut() throws IOException {
        long start = System.nanoTime();
        expectFailure(FakeHub.Fault.STALL_BODY, "no data for 0.3 s");
        expectFailure(FakeHub.Fault.STALL_HEADERS, "cannot reach");
        assertThat((System.nanoTime() - start) / 1e9).as("seconds for two stalls").isLessThan(10);
    }

    @Test
    void redirectLoopsEnd() throws IOException {
        expectFailure(FakeHub.Fault.REDIRECT_LOOP_HEAD, "redirect");
        expectFailure(FakeHub.Fault.REDIRECT_LOOP_GET, "redirect");
    }

    @Test
    void anUnreachableHubFallsBackToACompleteCache() throws IOException {
        Path snapshot = snapshotWith(FakeHub.Fault.NONE);
        int gets = server.modelGets.get();
        for (FakeHub.Fault fault : List.of(FakeHub.Fault.ERROR_500, FakeHub.Fault.STALL_HEADERS)) {
            notices.clear();
            assertThat(snapshotWith(fault)).isEqualTo(snapshot);
            assertThat(notices).singleElement().asString().contains("cannot reach").contains("using the cached");
        }
        assertThat(server.modelGets.get()).isEqualTo(gets);
        Hub offline = new Hub(cache, server.endpoint(), true, PATIENT, null, notices::add);
        assertThat(offline.snapshot(REPO, "main")).isEqualTo(snapshot);
        assertThatThrownBy(() -> offline.snapshot(REPO, "v2")).hasMessageContaining("HF_HUB_OFFLINE");
    }

    @Test
    void concurrentDownloadsOfOneModelShareOneVerifiedBlob() throws Exception {
        server.fault = FakeHub.Fault.SLOW;
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            Callable<Path> download = () -> hub().snapshot(REPO, "main");
            Future<Path> a = pool.submit(download);
            Future<Path> b = pool.submit(download);
            assertDownloaded(a.get());
            assertDownloaded(b.get());
        } finally {
            pool.shutdownNow();
        }
        assertThat(server.modelGets.get()).as("the second waits for the first's blob").isEqualTo(1);
        try (Stream<Path> blobs = Files.list(cache.resolve("models--org--vit-hostile/blobs"))) {
            assertThat(blobs.map(p -> p.getFileName().toString())).noneMatch(n -> n.endsWith(".incomplete"));
        }
    }

    @Test
    void aDamagedCachedBlobIsFoundAndFetchedAgain() throws IOException {
        Path snapshot = snapshotWith(FakeHub.Fault.NONE);
        Path blob = snapshot.resolve("model.safetensors").toRealPath();
        Files.write(blob, new byte[] {1, 2, 3});
        Hub hub = hub();
        assertThat(hub.evictDamaged(snapshot)).isTrue();
        assertThat(notices).anySatisfy(n -> assertThat(n).contains("damaged"));
        assertDownloaded(hub.snapshot(REPO, "main"));
        assertThat(hub.evictDamaged(snapshot)).as("an intact snapshot is left alone").isFalse();
    }

    @Test
    void endpointsAndTimeoutsFromTheEnvironmentAreChecked() {
        assertThatThrownBy(() -> Hub.fromEnvironment(Map.of("HF_ENDPOINT", "not a url"), null, null))
                .isInstanceOf(VitException.class).hasMessageContaining("HF_ENDPOINT 'not a url'");
        assertThatThrownBy(() -> Hub.fromEnvironment(Map.of("HF_ENDPOINT", "file:///etc"), null, null))
                .isInstanceOf(VitException.class);
        assertThatThrownBy(() -> Hub.Settings.fromEnvironment(Map.of("HF_HUB_DOWNLOAD_TIMEOUT", "-1")))
                .isInstanceOf(VitException.class).hasMessageContaining("HF_HUB_DOWNLOAD_TIMEOUT");
        Hub.Settings s = Hub.Settings.fromEnvironment(Map.of("HF_HUB_DOWNLOAD_TIMEOUT", "2.5",
                "HF_HUB_ETAG_TIMEOUT", "7"));
        assertThat(s.downloadTimeout()).isEqualTo(Duration.ofMillis(2500));
        assertThat(s.metadataTimeout()).isEqualTo(Duration.ofSeconds(7));
        assertThat(Hub.Settings.fromEnvironment(Map.of()).downloadTimeout()).isEqualTo(Duration.ofSeconds(60));
    }
}
