package dev.vitjava.hub;

import dev.vitjava.VitException;
import dev.vitjava.checkpoint.ModelFiles;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Downloads models from the Hugging Face Hub (timm's models live there too, under {@code timm/}) into the cache
 * layout that {@code huggingface_hub} uses, so both share one cache:
 * {@code $HF_HUB_CACHE/models--org--name/{blobs/<etag>, snapshots/<commit>/<file>, refs/<revision>}}.
 * Honours {@code HF_HOME}, {@code HF_HUB_CACHE}, {@code HF_ENDPOINT} and {@code HF_HUB_OFFLINE}; interrupted
 * downloads resume from their {@code .incomplete} file with an HTTP range request.
 */
public final class Hub {

    private static final Pattern REPO_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*");
    private static final String CONFIG = "config.json";
    /** Where a repository keeps its weights, in order of preference; an index brings the shards it names. */
    private static final List<String> WEIGHTS = List.of("model.safetensors", "model.safetensors.index.json",
            "pytorch_model.bin", "pytorch_model.bin.index.json");
    private static final String OPTIONAL = "preprocessor_config.json";

    private final Path cache;
    private final String endpoint;
    private final boolean offline;
    private final PrintStream progress;
    private final HttpClient http;

    public Hub(Path cache, String endpoint, boolean offline, PrintStream progress) {
        this.cache = cache;
        this.endpoint = endpoint.replaceAll("/+$", "");
        this.offline = offline;
        this.progress = progress;
        this.http = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NORMAL)
                .connectTimeout(Duration.ofSeconds(20)).build();
    }

    /** A hub configured from the environment, as huggingface_hub reads it. */
    public static Hub fromEnvironment(Map<String, String> env, PrintStream progress) {
        Path home = env.containsKey("HF_HOME") ? Path.of(env.get("HF_HOME"))
                : Path.of(env.getOrDefault("XDG_CACHE_HOME", System.getProperty("user.home") + "/.cache"), "huggingface");
        Path cache = env.containsKey("HF_HUB_CACHE") ? Path.of(env.get("HF_HUB_CACHE")) : home.resolve("hub");
        String offline = env.getOrDefault("HF_HUB_OFFLINE", "0").toLowerCase(java.util.Locale.ROOT);
        return new Hub(cache, env.getOrDefault("HF_ENDPOINT", "https://huggingface.co"),
                offline.equals("1") || offline.equals("true") || offline.equals("yes") || offline.equals("on"),
                progress);
    }

    /** The hub's address ({@code HF_ENDPOINT}, default https://huggingface.co). */
    public String endpoint() {
        return endpoint;
    }

    /** Whether {@code id} looks like {@code org/name} (and so is meant for the hub, not a local path). */
    public static boolean isRepoId(String id) {
        return REPO_ID.matcher(id).matches() && !id.endsWith(".safetensors");
    }

    /** The snapshot directory holding the model's files, downloading what is missing. */
    public Path snapshot(String repoId, String revision) {
        Path repo = cache.resolve("models--" + repoId.replace("/", "--"));
        if (offline) {
            return cachedSnapshot(repo, revision).orElseThrow(() -> new VitException(repoId
                    + ": not in the Hugging Face cache (" + cache + ") and HF_HUB_OFFLINE is set"));
        }
        String commit = fetch(repoId, revision, repo, CONFIG, true);
        Path snapshot = repo.resolve("snapshots").resolve(commit);
        String weights = null;
        for (String file : WEIGHTS) {
            if (fetch(repoId, revision, repo, file, false) != null) {
                weights = file;
                break;
            }
        }
        if (weights == null) {
            throw new VitException(repoId + ": no weights on the hub (looked for " + String.join(", ", WEIGHTS) + ")");
        }
        if (weights.endsWith(".index.json")) {
            for (String shard : ModelFiles.shards(snapshot.resolve(weights))) {
                fetch(repoId, revision, repo, shard, true);
            }
        }
        fetch(repoId, revision, repo, OPTIONAL, false);
        return snapshot;
    }

    private Optional<Path> cachedSnapshot(Path repo, String revision) {
        try {
            Path ref = repo.resolve("refs").resolve(revision);
            String commit = Files.isRegularFile(ref) ? Files.readString(ref).strip() : revision;
            Path snap = repo.resolve("snapshots").resolve(commit);
            return Files.exists(snap.resolve(CONFIG)) && WEIGHTS.stream().anyMatch(f -> Files.exists(snap.resolve(f)))
                    ? Optional.of(snap) : Optional.empty();
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /** Downloads one file into blobs/ and links it from the snapshot; returns the commit, or null if optional and absent. */
    private String fetch(String repoId, String revision, Path repo, String file, boolean required) {
        URI uri = URI.create(endpoint + "/" + repoId + "/resolve/" + revision + "/" + file);
        try {
            HttpResponse<Void> head = http.send(HttpRequest.newBuilder(uri)
                    .method("HEAD", HttpRequest.BodyPublishers.noBody()).timeout(Duration.ofSeconds(60)).build(),
                    HttpResponse.BodyHandlers.discarding());
            if (head.statusCode() == 404 && !required) {
                return null;
            }
            if (head.statusCode() == 401 || head.statusCode() == 403 || head.statusCode() == 404) {
                throw new VitException(repoId + ": " + file + " not found on the hub (HTTP " + head.statusCode()
                        + "; is the model id right, or is it gated?)");
            }
            if (head.statusCode() / 100 != 2) {
                throw new VitException(repoId + ": " + uri + " answered HTTP " + head.statusCode());
            }
            String commit = head.headers().firstValue("x-repo-commit").orElse(revision);
            String etag = head.headers().firstValue("x-linked-etag").or(() -> head.headers().firstValue("etag"))
                    .map(e -> e.replace("W/", "").replace("\"", "")).orElse(commit + "-" + file);
            long size = head.headers().firstValueAsLong("x-linked-size")
                    .orElse(head.headers().firstValueAsLong("content-length").orElse(-1));
            Path blob = repo.resolve("blobs").resolve(etag);
            if (!Files.exists(blob)) {
                download(uri, blob, size, repoId + "/" + file);
            }
            Path link = repo.resolve("snapshots").resolve(commit).resolve(file);
            Files.createDirectories(link.getParent());
            if (!Files.exists(link)) {
                try {
                    Files.createSymbolicLink(link, link.getParent().relativize(blob));
                } catch (UnsupportedOperationException | IOException e) {
                    Files.copy(blob, link, StandardCopyOption.REPLACE_EXISTING);
                }
            }
            Files.createDirectories(repo.resolve("refs"));
            Files.writeString(repo.resolve("refs").resolve(revision), commit);
            return commit;
        } catch (ConnectException | HttpTimeoutException e) {
            throw new VitException(repoId + ": cannot reach " + endpoint + " (offline? set HF_HUB_OFFLINE=1 to use "
                    + "the cache only)");
        } catch (IOException e) {
            throw new VitException(repoId + ": download of " + file + " failed: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new VitException(repoId + ": download interrupted");
        }
    }

    /** Streams into blob.incomplete, resuming from its length, then renames it into place. */
    private void download(URI uri, Path blob, long size, String label) throws IOException, InterruptedException {
        Files.createDirectories(blob.getParent());
        Path partial = blob.resolveSibling(blob.getFileName() + ".incomplete");
        long have = Files.exists(partial) ? Files.size(partial) : 0;
        HttpRequest.Builder request = HttpRequest.newBuilder(uri).timeout(Duration.ofMinutes(30));
        if (have > 0) {
            request.header("Range", "bytes=" + have + "-");
        }
        HttpResponse<InputStream> response = http.send(request.build(), HttpResponse.BodyHandlers.ofInputStream());
        boolean resumed = response.statusCode() == 206;
        if (!resumed && response.statusCode() != 200) {
            response.body().close();
            throw new IOException("HTTP " + response.statusCode());
        }
        if (!resumed) {
            have = 0;
        }
        Progress bar = new Progress(progress, label, size);
        long done = have;
        try (InputStream in = response.body();
             OutputStream out = Files.newOutputStream(partial, StandardOpenOption.CREATE,
                     resumed ? StandardOpenOption.APPEND : StandardOpenOption.TRUNCATE_EXISTING,
                     StandardOpenOption.WRITE)) {
            byte[] buffer = new byte[1 << 16];
            for (int n; (n = in.read(buffer)) > 0; ) {
                out.write(buffer, 0, n);
                done += n;
                bar.update(done);
            }
            if (size >= 0 && done != size) {
                throw new IOException("the connection closed early");
            }
        } catch (IOException e) {
            bar.end(); // the error gets a line of its own, not the end of the bar's
            throw new VitException(label + ": download stopped after " + String.format("%.1f", done / 1e6)
                    + (size >= 0 ? " of " + String.format("%.1f", size / 1e6) : "") + " MB (" + e.getMessage()
                    + "); run the command again to resume it");
        }
        bar.finish(done);
        Files.move(partial, blob, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    /** A one-line progress bar on a terminal; silent when {@code out} is null. */
    private static final class Progress {
        private final PrintStream out;
        private final String label;
        private final long total;
        private long lastPrint;
        private boolean drawn;

        Progress(PrintStream out, String label, long total) {
            this.out = out;
            this.label = label;
            this.total = total;
        }

        void update(long done) {
            long now = System.nanoTime();
            if (out != null && (!drawn || now - lastPrint > 200_000_000L)) {
                lastPrint = now;
                print(done);
            }
        }

        void finish(long done) {
            if (out != null) {
                print(done);
                end();
            }
        }

        /** Ends the bar's line, if one was drawn. */
        void end() {
            if (out != null && drawn) {
                out.print('\n');
                out.flush();
                drawn = false;
            }
        }

        private void print(long done) {
            drawn = true;
            String amount = String.format("%.1f MB", done / 1e6);
            if (total > 0) {
                int width = 30;
                int filled = (int) (width * done / total);
                out.printf("\r%s [%s%s] %3d%% %s", label, "#".repeat(filled), " ".repeat(width - filled),
                        100 * done / total, amount);
            } else {
                out.printf("\r%s %s", label, amount);
            }
            out.flush();
        }
    }
}
