package dev.vitjava.tests;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A Hugging Face Hub on loopback serving one repository's files as the real one does (X-Repo-Commit, ETag = the
 * file's SHA-256, HEAD then GET with ranges), or misbehaving in one of the ways a broken proxy, mirror or
 * hostile server does.
 */
final class FakeHub implements AutoCloseable {

    static final String COMMIT = "c0ffee0000000000000000000000000000000000";

    /** How the server misbehaves. */
    enum Fault {
        NONE,
        /** Every request answers HTTP 500. */
        ERROR_500,
        /** GETs answer 200 with an HTML page (a login or proxy page). */
        HTML_BODY,
        /** GETs of model.safetensors announce the full length, send half and close. */
        TRUNCATED_WITH_LENGTH,
        /** No length anywhere (HEAD or GET), and GETs of model.safetensors send half. */
        TRUNCATED_NO_LENGTH,
        /** GETs of model.safetensors send headers and a first part, then nothing. */
        STALL_BODY,
        /** HEADs never answer. */
        STALL_HEADERS,
        /** HEADs redirect to themselves, relatively. */
        REDIRECT_LOOP_HEAD,
        /** GETs redirect to themselves, absolutely. */
        REDIRECT_LOOP_GET,
        /** The ETag is a path that climbs out of the cache. */
        TRAVERSAL_ETAG,
        /** X-Repo-Commit is an absolute path. */
        TRAVERSAL_COMMIT,
        /**
         * GETs of model.safetensors wait until two clients have asked for its metadata, then trickle, so two
         * concurrent downloads overlap.
         */
        SLOW
    }

    private final String repo;
    private final Map<String, byte[]> files;
    private final HttpServer server;
    private final ExecutorService executor = Executors.newCachedThreadPool();
    private final CountDownLatch released = new CountDownLatch(1);
    volatile Fault fault = Fault.NONE;
    final AtomicInteger modelGets = new AtomicInteger();
    /** Range headers of the GET requests for the weights. */
    final List<String> ranges = new CopyOnWriteArrayList<>();
    private final CountDownLatch modelHeads = new CountDownLatch(2);

    FakeHub(String repo, Map<String, byte[]> files) throws IOException {
        this.repo = repo;
        this.files = files;
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.setExecutor(executor);
        server.createContext("/" + repo + "/resolve/", this::serve);
        server.start();
    }

    String endpoint() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    static String sha256(byte[] body) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(body));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        released.countDown();
        server.stop(0);
        executor.shutdownNow();
    }

    private void serve(HttpExchange ex) throws IOException {
        try (ex) {
            String path = ex.getRequestURI().getPath();
            String file = path.substring(path.lastIndexOf('/') + 1);
            boolean head = ex.getRequestMethod().equals("HEAD");
            byte[] body = files.get(file);
            Fault f = fault;
            if (f == Fault.ERROR_500) {
                ex.sendResponseHeaders(500, -1);
                return;
            }
            if (f == Fault.STALL_HEADERS && head) {
                stall();
                return;
            }
            if (f == Fault.REDIRECT_LOOP_HEAD && head) {
                ex.getResponseHeaders().add("Location", path);
                ex.sendResponseHeaders(302, -1);
                return;
            }
            if (body == null) {
                ex.sendResponseHeaders(404, -1);
                return;
            }
            ex.getResponseHeaders().add("X-Repo-Commit", f == Fault.TRAVERSAL_COMMIT ? "/tmp/vit-escape" : COMMIT);
            ex.getResponseHeaders().add("ETag", "\"" + (f == Fault.TRAVERSAL_ETAG ? "../../../../vit-escape"
                    : sha256(body)) + "\"");
            boolean model = file.equals("model.safetensors");
            if (head && model) {
                modelHeads.countDown();
            }
            if (head) {
                if (f != Fault.TRUNCATED_NO_LENGTH) {
                    ex.getResponseHeaders().add("Content-Length", Integer.toString(body.length));
                }
                ex.sendResponseHeaders(200, -1);
                return;
            }
            if (f == Fault.REDIRECT_LOOP_GET) {
                ex.getResponseHeaders().add("Location", endpoint() + path);
                ex.sendResponseHeaders(302, -1);
                return;
            }
            if (f == Fault.HTML_BODY) {
                byte[] html = "<html><body>Please log in</body></html>".getBytes(StandardCharsets.UTF_8);
                ex.getResponseHeaders().add("Content-Type", "text/html; charset=utf-8");
                ex.sendResponseHeaders(200, html.length);
                ex.getResponseBody().write(html);
                return;
            }
            if (model) {
                modelGets.incrementAndGet();
            }
            int from = 0;
            String range = ex.getRequestHeaders().getFirst("Range");
            if (range != null) {
                if (model) {
                    ranges.add(range);
                }
                from = Integer.parseInt(range.replaceAll("bytes=(\\d+)-", "$1"));
                ex.getResponseHeaders().add("Content-Range", "bytes " + from + "-" + (body.length - 1) + "/"
                        + body.length);
            }
            int length = body.length - from;
            ex.getResponseHeaders().add("Content-Type", "application/octet-stream");
            OutputStream out = ex.getResponseBody();
            if (model && f == Fault.TRUNCATED_WITH_LENGTH) {
                ex.sendResponseHeaders(range != null ? 206 : 200, length);
                out.write(body, from, length / 2);
                out.flush();
                return; // the exchange closes with the body short of its length

            }
            if (model && f == Fault.TRUNCATED_NO_LENGTH) {
                ex.sendResponseHeaders(range != null ? 206 : 200, 0); // chunked: no length
                out.write(body, from, length / 2);
                return;
            }
            ex.sendResponseHeaders(range != null ? 206 : 200, length);
            if (model && f == Fault.STALL_BODY) {
                out.write(body, from, Math.min(1000, length));
                out.flush();
                stall();
                return;
            }
            if (model && f == Fault.SLOW) {
                await(modelHeads);
                for (int at = from; at < body.length; at += 8192) {
                    out.write(body, at, Math.min(8192, body.length - at));
                    out.flush();
                    sleep(5);
                }
                return;
            }
            out.write(body, from, length);
        }
    }

    private void stall() {
        await(released);
    }

    private static void await(CountDownLatch latch) {
        try {
            latch.await(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
