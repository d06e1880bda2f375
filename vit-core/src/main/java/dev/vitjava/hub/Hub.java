package dev.vitjava.hub;

import dev.vitjava.VitException;
import dev.vitjava.checkpoint.ModelFiles;
import dev.vitjava.io.Printable;
import dev.vitjava.io.SafeFiles;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.ConnectException;
import java.net.HttpURLConnection;
import java.net.NoRouteToHostException;
import java.net.ProtocolException;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLEncoder;
import java.net.UnknownHostException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import java.util.regex.Pattern;

/**
 * Downloads models from the Hugging Face Hub (timm's models live there too, under {@code timm/}) into the cache
 * layout that {@code huggingface_hub} uses, so both share one cache:
 * {@code $HF_HUB_CACHE/models--org--name/{blobs/<etag>, snapshots/<commit>/<file>, refs/<revision>}}.
 * Honours {@code HF_HOME}, {@code HF_HUB_CACHE}, {@code HF_ENDPOINT}, {@code HF_HUB_OFFLINE},
 * {@code HF_HUB_ETAG_TIMEOUT} and {@code HF_HUB_DOWNLOAD_TIMEOUT}.
 *
 * <p>The server is not trusted: every name taken from it or from the command line (revision, commit, ETag) is
 * checked against the Hub's forms before it becomes part of a path, and every path is checked to stay under the
 * cache. A blob enters the cache only after its length and its hash (the ETag is the file's git SHA-1 or, for LFS
 * files, its SHA-256) check out, by an atomic rename under a per-blob file lock, so concurrent processes never
 * see or write a partial blob. Interrupted downloads resume from their {@code .incomplete} file with an HTTP
 * range request; transient failures (timeouts, resets, HTTP 429 and 5xx) are retried with back-off.
 */
public final class Hub {

    private static final Pattern REPO_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*");
    /** A git commit id: what X-Repo-Commit must be, and what becomes a snapshot directory name. */
    private static final Pattern COMMIT = Pattern.compile("[0-9a-f]{40}");
    /** A blob's ETag: its git SHA-1 (40 hex digits) or, for LFS files, its SHA-256 (64). */
    private static final Pattern ETAG = Pattern.compile("[0-9a-f]{40}|[0-9a-f]{64}");
    /** A branch, tag or ref such as {@code refs/pr/1}: git's ref-name rules, kept to safe characters. */
    private static final Pattern REVISION = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9_.+-]*(/[A-Za-z0-9_][A-Za-z0-9_.+-]*)*");
    private static final String CONFIG = "config.json";
    /** Where a repository keeps its weights, in order of preference; an index brings the shards it names. */
    private static final List<String> WEIGHTS = List.of("model.safetensors", "model.safetensors.index.json",
            "pytorch_model.bin", "pytorch_model.bin.index.json");
    private static final String OPTIONAL = "preprocessor_config.json";
    private static final int MAX_RELATIVE_REDIRECTS = 10;
    /** Locks of this JVM's threads, since a file lock is held per process, not per thread. */
    private static final Map<Path, ReentrantLock> LOCKS = new ConcurrentHashMap<>();

    /**
     * How long to wait and how often to try.
     *
     * @param metadataTimeout connect and read timeout of the metadata request ({@code HF_HUB_ETAG_TIMEOUT})
     * @param downloadTimeout connect timeout, and the longest a download may deliver nothing
     *                        ({@code HF_HUB_DOWNLOAD_TIMEOUT})
     * @param attempts        tries per request before giving up, for transient failures
     * @param backoff         wait before the second try, doubled for each further one
     */
    public record Settings(Duration metadataTimeout, Duration downloadTimeout, int attempts, Duration backoff) {
        public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(60);

        public static Settings defaults() {
            return new Settings(DEFAULT_TIMEOUT, DEFAULT_TIMEOUT, 3, Duration.ofSeconds(1));
        }

        /** The defaults with the timeouts of {@code HF_HUB_ETAG_TIMEOUT} and {@code HF_HUB_DOWNLOAD_TIMEOUT}. */
        public static Settings fromEnvironment(Map<String, String> env) {
            Settings d = defaults();
            return new Settings(seconds(env, "HF_HUB_ETAG_TIMEOUT", d.metadataTimeout),
                    seconds(env, "HF_HUB_DOWNLOAD_TIMEOUT", d.downloadTimeout), d.attempts, d.backoff);
        }

        private static Duration seconds(Map<String, String> env, String name, Duration fallback) {
            String v = env.get(name);
            if (v == null || v.isBlank()) {
                return fallback;
            }
            double s;
            try {
                s = Double.parseDouble(v.strip());
            } catch (NumberFormatException e) {
                s = Double.NaN;
            }
            if (!(s > 0 && s <= 86_400)) {
                throw new VitException(name + "='" + v + "' must be a number of seconds between 0 and 86400");
            }
            return Duration.ofNanos((long) (s * 1e9));
        }
    }

    private final Path cache;
    private final String endpoint;
    private final boolean offline;
    private final Settings settings;
    private final PrintStream progress;
    private final Consumer<String> notices;

    /**
     * @param progress where a progress bar goes (a terminal), or null
     * @param notices  receives one-line notices (using the cache because the hub is unreachable, waiting for
     *                 another process's download)
     */
    public Hub(Path cache, String endpoint, boolean offline, Settings settings, PrintStream progress,
            Consumer<String> notices) {
        this.cache = cache.toAbsolutePath().normalize();
        this.endpoint = checkEndpoint(endpoint);
        this.offline = offline;
        this.settings = settings;
        this.progress = progress;
        this.notices = notices;
    }

    /** A hub configured from the environment, as huggingface_hub reads it. */
    public static Hub fromEnvironment(Map<String, String> env, PrintStream progress, Consumer<String> notices) {
        Path home = nonBlank(env, "HF_HOME") ? Path.of(env.get("HF_HOME"))
                : Path.of(nonBlank(env, "XDG_CACHE_HOME") ? env.get("XDG_CACHE_HOME")
                        : System.getProperty("user.home") + "/.cache", "huggingface");
        Path cache = nonBlank(env, "HF_HUB_CACHE") ? Path.of(env.get("HF_HUB_CACHE")) : home.resolve("hub");
        String offline = env.getOrDefault("HF_HUB_OFFLINE", "0").toLowerCase(Locale.ROOT);
        return new Hub(cache, env.getOrDefault("HF_ENDPOINT", "https://huggingface.co"),
                offline.equals("1") || offline.equals("true") || offline.equals("yes") || offline.equals("on"),
                Settings.fromEnvironment(env), progress, notices);
    }

    private static boolean nonBlank(Map<String, String> env, String name) {
        return env.get(name) != null && !env.get(name).isBlank();
    }

    private static String checkEndpoint(String endpoint) {
        String trimmed = endpoint.strip().replaceAll("/+$", "");
        try {
            URI uri = new URI(trimmed);
            String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
            if ((scheme.equals("http") || scheme.equals("https")) && uri.getHost() != null && uri.getQuery() == null
                    && uri.getFragment() == null) {
                return trimmed;
            }
        } catch (URISyntaxException e) {
            // reported below
        }
        throw new VitException("HF_ENDPOINT '" + endpoint + "' is not an http(s) URL such as https://huggingface.co");
    }

    /** The hub's address ({@code HF_ENDPOINT}, default https://huggingface.co). */
    public String endpoint() {
        return endpoint;
    }

    /** Whether {@code id} looks like {@code org/name} (and so is meant for the hub, not a local path). */
    public static boolean isRepoId(String id) {
        return REPO_ID.matcher(id).matches() && !id.endsWith(".safetensors");
    }

    /** Refuses a revision that is not a commit id or a safe branch, tag or ref name. */
    public static String checkRevision(String revision) {
        if (revision == null || revision.length() > 255 || !REVISION.matcher(revision).matches()
                || revision.contains("..") || revision.endsWith(".lock") || revision.endsWith(".")) {
            throw new VitException("--revision '" + Printable.escape(revision) + "' is not a commit id or a branch, tag"
                    + " or ref name (letters, digits, '_', '-', '.', '+', '/'-separated)");
        }
        return revision;
    }

    /** Refuses a file name that is not a relative path inside a repository (no "..", no control characters). */
    static String checkRepoPath(String file) {
        boolean ok = !file.isEmpty() && !file.startsWith("/") && !file.contains("\\")
                && file.codePoints().noneMatch(Character::isISOControl);
        for (String segment : file.split("/", -1)) {
            ok &= !segment.isEmpty() && !segment.equals(".") && !segment.equals("..");
        }
        if (!ok) {
            throw new VitException("'" + Printable.escape(file) + "' is not a file path inside a repository");
        }
        return file;
    }

    public boolean offline() {
        return offline;
    }

    /** The snapshot directory holding the model's files, downloading what is missing. */
    public Path snapshot(String repoId, String revision) {
        if (!isRepoId(repoId)) {
            throw new VitException("'" + Printable.escape(repoId) + "' is not a hub model id (org/name)");
        }
        checkRevision(revision);
        Path repo = inCache("models--" + repoId.replace("/", "--"));
        if (offline) {
            return cachedSnapshot(repo, revision).orElseThrow(() -> new VitException(repoId + ": not in the "
                    + "Hugging Face cache (" + cache + ") at revision " + revision + ", and HF_HUB_OFFLINE is set"));
        }
        try {
            String commit = fetch(repoId, revision, repo, CONFIG, true);
            Path snapshot = within(repo, "snapshots", commit);
            String weights = null;
            for (String file : WEIGHTS) {
                if (fetch(repoId, revision, repo, file, false) != null) {
                    weights = file;
                    break;
                }
            }
            if (weights == null) {
                throw new VitException(repoId + ": no weights on the hub (looked for " + String.join(", ", WEIGHTS)
                        + ")");
            }
            if (weights.endsWith(".index.json")) {
                for (String shard : ModelFiles.shards(snapshot.resolve(weights))) {
                    fetch(repoId, revision, repo, shard, true); // names from the network: checked in fetch
                }
            }
            fetch(repoId, revision, repo, OPTIONAL, false);
            return snapshot;
        } catch (Unreachable e) {
            Optional<Path> cached = cachedSnapshot(repo, revision);
            if (cached.isEmpty()) {
                throw new VitException(repoId + ": " + e.getMessage() + ", and the model is not in the cache ("
                        + cache + ")");
            }
            notice(repoId + ": " + e.getMessage() + "; using the cached snapshot " + cached.get().getFileName());
            return cached.get();
        }
    }

    /**
     * Checks every file of a snapshot against the hash its blob is named by and deletes the blobs (and links) that
     * fail, so the next {@link #snapshot} downloads them again. For a cached model that fails to load: returns
     * whether anything was removed (if nothing was, the files are what the hub serves and the error stands).
     */
    public boolean evictDamaged(Path snapshot) {
        boolean evicted = false;
        try (var files = Files.list(snapshot)) {
            Path realCache = cache.toRealPath(); // the links resolve through any link in the cache's own path
            for (Path link : files.toList()) {
                if (!Files.exists(link)) {
                    continue; // dangling: the next snapshot() links it again
                }
                Path blob = link.toRealPath();
                String etag = blob.getFileName().toString();
                if (ETAG.matcher(etag).matches() && blob.startsWith(realCache) && !matchesEtag(blob, etag)) {
                    notice(link + ": damaged in the cache (its content does not match its hash " + etag
                            + "); downloading it again");
                    Files.delete(blob);
                    Files.deleteIfExists(link);
                    evicted = true;
                }
            }
        } catch (IOException e) {
            throw new VitException(snapshot + ": cannot check the cached files: " + SafeFiles.describe(e), e);
        }
        return evicted;
    }

    private void notice(String message) {
        if (notices != null) {
            notices.accept(message);
        }
    }

    private Optional<Path> cachedSnapshot(Path repo, String revision) {
        try {
            Path ref = within(repo, "refs", revision);
            String commit = Files.isRegularFile(ref) ? Files.readString(ref).strip() : revision;
            if (!COMMIT.matcher(commit).matches()) {
                return Optional.empty();
            }
            Path snap = within(repo, "snapshots", commit);
            return Files.isRegularFile(snap.resolve(CONFIG))
                    && WEIGHTS.stream().anyMatch(f -> Files.isRegularFile(snap.resolve(f))) ? Optional.of(snap)
                    : Optional.empty();
        } catch (IOException | VitException e) {
            return Optional.empty();
        }
    }

    /** {@code cache/part}, checked to stay in the cache. */
    private Path inCache(String part) {
        return within(cache, part);
    }

    /** {@code root/parts...}, refused unless it is still under {@code root} (a second line behind the patterns). */
    private static Path within(Path root, String... parts) {
        Path p = root;
        for (String part : parts) {
            p = p.resolve(part);
        }
        p = p.normalize();
        if (!p.startsWith(root) || p.equals(root)) {
            throw new VitException("refusing to write " + p + ": outside " + root);
        }
        return p;
    }

    /** What the hub says about a file: the commit of the revision, the blob's hash and size, or absent. */
    private record Metadata(String commit, String etag, long size) {
    }

    /** The hub could not be reached or kept failing: the cache may stand in. */
    private static final class Unreachable extends RuntimeException {
        Unreachable(String message) {
            super(message);
        }
    }

    /** Downloads one file into blobs/ and links it from the snapshot; returns the commit, or null if optional and absent. */
    private String fetch(String repoId, String revision, Path repo, String file, boolean required) {
        checkRepoPath(file);
        URI uri = URI.create(endpoint + "/" + repoId + "/resolve/" + URLEncoder.encode(revision, StandardCharsets.UTF_8)
                + "/" + file);
        String label = repoId + "/" + file;
        Metadata meta = metadata(uri, repoId, revision, file, required);
        if (meta == null) {
            return null;
        }
        Path blob = within(repo, "blobs", meta.etag);
        try {
            if (!Files.isRegularFile(blob)) {
                download(uri, repo, blob, meta, label);
            }
            link(within(repo, "snapshots", meta.commit, file), blob);
            Path ref = within(repo, "refs", revision);
            Files.createDirectories(ref.getParent());
            if (!Files.isRegularFile(ref) || !Files.readString(ref).strip().equals(meta.commit)) {
                SafeFiles.writeAtomically(ref, out -> out.write(meta.commit.getBytes(StandardCharsets.US_ASCII)));
            }
        } catch (IOException e) {
            throw new VitException(label + ": cannot write to the cache " + cache + ": " + SafeFiles.describe(e), e);
        }
        return meta.commit;
    }

    private static void link(Path link, Path blob) throws IOException {
        Files.createDirectories(link.getParent());
        if (Files.isSymbolicLink(link) && !Files.exists(link)) {
            Files.delete(link); // dangling: its blob was evicted
        }
        if (Files.exists(link)) {
            return;
        }
        try {
            Files.createSymbolicLink(link, link.getParent().relativize(blob));
        } catch (FileAlreadyExistsException e) {
            // another process linked it first
        } catch (UnsupportedOperationException | IOException e) {
            Path tmp = Files.createTempFile(link.getParent(), "." + link.getFileName(), ".tmp");
            Files.copy(blob, tmp, StandardCopyOption.REPLACE_EXISTING);
            Files.move(tmp, link, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /**
     * A HEAD request, following only relative redirects (a renamed repository), as huggingface_hub does: an
     * absolute one goes to the CDN, and the hub's own headers on it are the ones that count.
     */
    private Metadata metadata(URI uri, String repoId, String revision, String file, boolean required) {
        URI current = uri;
        for (int redirects = 0; ; redirects++) {
            HttpURLConnection c = withRetries(repoId + "/" + file, current);
            try {
                int status = c.getResponseCode();
                String location = c.getHeaderField("Location");
                if (status / 100 == 3 && location != null && !URI.create(location.strip()).isAbsolute()) {
                    if (redirects == MAX_RELATIVE_REDIRECTS) {
                        throw new VitException(repoId + ": " + uri + " redirects more than " + MAX_RELATIVE_REDIRECTS
                                + " times (a redirect loop?)");
                    }
                    current = current.resolve(location.strip());
                    continue;
                }
                if (status == 404 && !required) {
                    return null;
                }
                if (status == 401 || status == 403 || status == 404) {
                    throw new VitException(repoId + ": " + file + " not found on the hub at revision " + revision
                            + " (HTTP " + status + "; is the model id right, or is it gated?)");
                }
                if (status / 100 != 2 && status / 100 != 3) {
                    throw new VitException(repoId + ": " + current + " answered HTTP " + status);
                }
                return checkedMetadata(c, repoId, revision, file);
            } catch (IOException e) {
                throw new VitException(repoId + ": " + current + ": " + describe(e));
            } finally {
                c.disconnect();
            }
        }
    }

    private Metadata checkedMetadata(HttpURLConnection c, String repoId, String revision, String file) {
        String commit = Optional.ofNullable(c.getHeaderField("X-Repo-Commit")).map(String::strip)
                .orElse(COMMIT.matcher(revision).matches() ? revision : null);
        if (commit == null || !COMMIT.matcher(commit).matches()) {
            throw new VitException(repoId + ": " + endpoint + " gave " + (commit == null ? "no X-Repo-Commit"
                    : "the invalid commit '" + Printable.escape(commit) + "'") + " for " + file
                    + " (is HF_ENDPOINT a Hugging Face Hub?)");
        }
        String rawEtag = Optional.ofNullable(c.getHeaderField("X-Linked-Etag")).orElse(c.getHeaderField("ETag"));
        String etag = rawEtag == null ? null : rawEtag.strip().replaceFirst("^W/", "").replace("\"", "");
        if (etag == null || !ETAG.matcher(etag).matches()) {
            throw new VitException(repoId + ": " + endpoint + " gave " + (etag == null ? "no ETag"
                    : "the invalid ETag '" + Printable.escape(etag) + "'") + " for " + file
                    + " (expected the file's SHA-1 or SHA-256)");
        }
        long size = parseSize(Optional.ofNullable(c.getHeaderField("X-Linked-Size"))
                .orElse(c.getHeaderField("Content-Length")));
        return new Metadata(commit, etag, size);
    }

    private static long parseSize(String header) {
        try {
            return header == null ? -1 : Math.max(-1, Long.parseLong(header.strip()));
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /** Downloads into {@code blob} under the blob's lock, unless another process finished it meanwhile. */
    private void download(URI uri, Path repo, Path blob, Metadata meta, String label) throws IOException {
        Path lockFile = within(cache, ".locks", repo.getFileName().toString(), meta.etag + ".lock");
        Files.createDirectories(lockFile.getParent());
        ReentrantLock local = LOCKS.computeIfAbsent(lockFile, k -> new ReentrantLock());
        local.lock();
        try (FileChannel channel = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            FileLock free = channel.tryLock();
            if (free == null) {
                notice(label + ": another process is downloading it; waiting");
            }
            try (FileLock lock = free != null ? free : channel.lock()) {
                if (!Files.isRegularFile(blob)) {
                    Files.createDirectories(blob.getParent());
                    downloadUnlocked(uri, blob, meta, label);
                }
            }
        } finally {
            local.unlock();
        }
    }

    /** Streams into blob.incomplete (resuming from its length), verifies it, then renames it into place. */
    private void downloadUnlocked(URI uri, Path blob, Metadata meta, String label) throws IOException {
        Path partial = blob.resolveSibling(blob.getFileName() + ".incomplete");
        String problem = null;
        for (int attempt = 1; attempt <= settings.attempts; attempt++) {
            if (attempt > 1) {
                sleep(settings.backoff.multipliedBy(1L << Math.min(attempt - 2, 10)));
            }
            long have = Files.isRegularFile(partial) ? Files.size(partial) : 0;
            if (meta.size >= 0 && have > meta.size) {
                Files.delete(partial);
                have = 0;
            }
            try {
                if (meta.size < 0 || have < meta.size) {
                    receive(uri, partial, have, meta.size, label);
                }
            } catch (Transient e) {
                problem = e.getMessage();
                continue;
            }
            long got = Files.size(partial);
            if (meta.size >= 0 && got != meta.size) {
                problem = "the connection closed after " + got + " of " + meta.size + " bytes";
                continue;
            }
            if (!matchesEtag(partial, meta.etag)) {
                Files.delete(partial); // whatever it is, resuming it cannot help
                problem = "the received " + got + " bytes do not match the file's hash " + meta.etag
                        + (meta.size < 0 ? " (truncated? the server sent no length)" : "");
                continue;
            }
            Files.move(partial, blob, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            return;
        }
        long have = Files.isRegularFile(partial) ? Files.size(partial) : 0;
        throw new VitException(label + ": download stopped after " + String.format(Locale.ROOT, "%.1f", have / 1e6)
                + (meta.size >= 0 ? " of " + String.format(Locale.ROOT, "%.1f", meta.size / 1e6) : "") + " MB ("
                + problem + ", " + settings.attempts + " tries)"
                + (have > 0 ? "; run the command again to resume it" : ""));
    }

    /** A failure worth another try. */
    private static final class Transient extends Exception {
        Transient(String message) {
            super(message);
        }
    }

    /** One GET into {@code partial}, from byte {@code have} on. */
    private void receive(URI uri, Path partial, long have, long size, String label) throws IOException, Transient {
        HttpURLConnection c = open(uri, "GET", have, settings.downloadTimeout);
        try {
            int status;
            InputStream body;
            try {
                status = c.getResponseCode();
                if (status == 429 || status / 100 == 5) {
                    throw new Transient("HTTP " + status);
                }
                body = status == 200 || status == 206 ? c.getInputStream() : null;
            } catch (ProtocolException e) {
                throw new VitException(label + ": " + uri + ": " + describe(e));
            } catch (SocketTimeoutException e) {
                throw new Transient("no answer within " + seconds(settings.downloadTimeout)
                        + " (HF_HUB_DOWNLOAD_TIMEOUT)");
            } catch (IOException e) {
                throw new Transient(describe(e));
            }
            if (status == 416) { // the partial file is no prefix of this blob
                Files.deleteIfExists(partial);
                throw new Transient("HTTP 416 for a resumed download; starting over");
            }
            if (body == null) {
                throw new VitException(label + ": " + uri + " answered HTTP " + status);
            }
            String type = Optional.ofNullable(c.getContentType()).orElse("").toLowerCase(Locale.ROOT);
            if (type.startsWith("text/html")) {
                throw new VitException(label + ": " + uri + " answered with an HTML page instead of the file (a"
                        + " login, proxy or error page?)");
            }
            boolean resumed = status == 206;
            if (resumed && !contentRangeStartsAt(c.getHeaderField("Content-Range"), have)) {
                throw new VitException(label + ": " + uri + " answered a range request with the wrong range "
                        + Printable.escape(c.getHeaderField("Content-Range")));
            }
            copy(body, partial, resumed, resumed ? have : 0, size, label, uri);
        } finally {
            c.disconnect();
        }
    }

    /** Appends (or writes) the body to {@code partial}; network failures are {@link Transient}, disk ones not. */
    private void copy(InputStream body, Path partial, boolean append, long done, long size, String label, URI uri)
            throws IOException, Transient {
        Progress bar = new Progress(progress, label, size);
        try (InputStream in = body;
             OutputStream out = Files.newOutputStream(partial, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                     append ? StandardOpenOption.APPEND : StandardOpenOption.TRUNCATE_EXISTING)) {
            byte[] buffer = new byte[1 << 16];
            while (true) {
                int n;
                try {
                    n = in.read(buffer);
                } catch (SocketTimeoutException e) {
                    throw new Transient("no data for " + seconds(settings.downloadTimeout)
                            + " (HF_HUB_DOWNLOAD_TIMEOUT)");
                } catch (IOException e) {
                    throw new Transient(describe(e));
                }
                if (n < 0) {
                    break;
                }
                if (size >= 0 && done + n > size) {
                    throw new VitException(label + ": " + uri + " sent more than the announced " + size + " bytes");
                }
                out.write(buffer, 0, n);
                done += n;
                bar.update(done);
            }
        } finally {
            bar.finish(done);
        }
    }

    private static boolean contentRangeStartsAt(String header, long start) {
        return header != null && header.strip().matches("bytes " + start + "-\\d+/(\\d+|\\*)");
    }

    /**
     * A metadata (HEAD) request with its status read, retrying transient failures; a hub that cannot be reached
     * after all tries is {@link Unreachable}.
     */
    private HttpURLConnection withRetries(String label, URI uri) {
        String problem = null;
        for (int attempt = 1; attempt <= settings.attempts; attempt++) {
            if (attempt > 1) {
                sleep(settings.backoff.multipliedBy(1L << Math.min(attempt - 2, 10)));
            }
            HttpURLConnection c = null;
            try {
                c = open(uri, "HEAD", 0, settings.metadataTimeout);
                int status = c.getResponseCode();
                if (status != 429 && status / 100 != 5) {
                    return c;
                }
                problem = "HTTP " + status;
            } catch (ProtocolException e) {
                throw new VitException(label + ": " + uri + ": " + describe(e));
            } catch (SocketTimeoutException e) {
                // not retried: a silent hub would cost attempts x the timeout before the cache can stand in
                if (c != null) {
                    c.disconnect();
                }
                throw new Unreachable("cannot reach " + endpoint + " (no answer within "
                        + seconds(settings.metadataTimeout) + ", HF_HUB_ETAG_TIMEOUT)");
            } catch (IOException e) {
                problem = describe(e);
            }
            if (c != null) {
                c.disconnect();
            }
        }
        throw new Unreachable("cannot reach " + endpoint + " (" + problem + ", " + settings.attempts + " tries)");
    }

    private HttpURLConnection open(URI uri, String method, long from, Duration timeout) throws IOException {
        HttpURLConnection c = (HttpURLConnection) uri.toURL().openConnection();
        c.setRequestMethod(method);
        c.setInstanceFollowRedirects(method.equals("GET"));
        int millis = (int) Math.min(Integer.MAX_VALUE, Math.max(1, timeout.toMillis()));
        c.setConnectTimeout(millis);
        c.setReadTimeout(millis); // the longest a read may wait for data, not a limit on the whole download
        c.setRequestProperty("Accept-Encoding", "identity"); // sizes and hashes are of the raw file
        c.setRequestProperty("User-Agent", "vit-java");
        if (from > 0) {
            c.setRequestProperty("Range", "bytes=" + from + "-");
        }
        return c;
    }

    private static String describe(IOException e) {
        if (e instanceof ConnectException || e instanceof NoRouteToHostException) {
            return "connection refused";
        }
        if (e instanceof UnknownHostException) {
            return "unknown host " + e.getMessage();
        }
        if (e instanceof SocketTimeoutException) {
            return "timed out";
        }
        if (e instanceof ProtocolException && e.getMessage() != null && e.getMessage().contains("redirected")) {
            return "too many redirects (a redirect loop?)";
        }
        return SafeFiles.describe(e);
    }

    private static String seconds(Duration d) {
        return d.toMillis() % 1000 == 0 ? d.toSeconds() + " s" : d.toMillis() / 1000.0 + " s";
    }

    private static void sleep(Duration d) {
        try {
            Thread.sleep(d);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new VitException("download interrupted");
        }
    }

    /** Whether the file's SHA-256 (64 hex digits) or git blob SHA-1 (40) is {@code etag}. */
    static boolean matchesEtag(Path file, String etag) throws IOException {
        MessageDigest digest;
        try {
            digest = MessageDigest.getInstance(etag.length() == 64 ? "SHA-256" : "SHA-1");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        if (etag.length() == 40) {
            digest.update(("blob " + Files.size(file) + "\0").getBytes(StandardCharsets.US_ASCII));
        }
        try (InputStream in = Files.newInputStream(file)) {
            byte[] buffer = new byte[1 << 16];
            for (int n; (n = in.read(buffer)) > 0; ) {
                digest.update(buffer, 0, n);
            }
        }
        return HexFormat.of().formatHex(digest.digest()).equals(etag);
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
                int filled = (int) Math.min(width, width * done / total);
                out.printf("\r%s [%s%s] %3d%% %s", label, "#".repeat(filled), " ".repeat(width - filled),
                        100 * done / total, amount);
            } else {
                out.printf("\r%s %s", label, amount);
            }
            out.flush();
        }
    }
}
