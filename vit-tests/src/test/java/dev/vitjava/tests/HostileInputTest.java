package dev.vitjava.tests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.assertj.core.api.Assumptions.assumeThat;

import dev.vitjava.checkpoint.SafetensorsWriter;
import dev.vitjava.tensor.Tensor;
import java.awt.image.BufferedImage;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hostile inputs through the CLI, in-process: each ends in a result or a one-line error naming the file or
 * option, with exit code 1, and a bad image never costs the others their result. The memory-heavy cases run in
 * a small heap in {@link HeavyInputTest}; the hub's in {@link HostileHubTest}.
 */
class HostileInputTest {

    private static final Path SAMPLES = Path.of("..", "samples");
    private static final String SAMPLE = SAMPLES.resolve("0000-ankle-boot.png").toString();
    private static final Path TIMM = Golden.dir("timm_tiny").resolve("model.safetensors");

    @TempDir
    Path tmp;

    private static void expectError(String[] args, String... expected) {
        expectExit(1, args, expected);
    }

    /** A bad option value: a usage error (exit 2, one line), as an unknown option is. */
    private static void expectUsageError(String[] args, String... expected) {
        expectExit(2, args, expected);
    }

    private static void expectExit(int code, String[] args, String... expected) {
        Cli r = Cli.run(args);
        assertThat(r.exitCode()).as(String.join(" ", args) + "\n" + r.err()).isEqualTo(code);
        assertThat(r.oneLineError()).as("one-line error, got: %s", r.err()).isTrue();
        assertThat(r.err()).contains(expected);
    }

    private static String[] args(String... a) {
        return a;
    }

    static Path png(Path file, int width, int height) throws IOException {
        Files.createDirectories(file.getParent());
        ImageIO.write(new BufferedImage(width, height, BufferedImage.TYPE_BYTE_GRAY), "png", file.toFile());
        return file;
    }

    /** The timm golden checkpoint with its tensors changed by {@code change}. */
    private Path timmWith(String name, Consumer<Map<String, Tensor>> change) {
        Map<String, Tensor> tensors = new LinkedHashMap<>(Golden.read(TIMM));
        change.accept(tensors);
        Path file = tmp.resolve(name + ".safetensors");
        SafetensorsWriter.write(file, tensors, Map.of());
        return file;
    }

    /** A safetensors file with this header and {@code dataBytes} of (sparse) zeros after it. */
    private Path rawSafetensors(String name, String header, long dataBytes) throws IOException {
        Path file = tmp.resolve(name + ".safetensors");
        byte[] json = header.getBytes(StandardCharsets.UTF_8);
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(json.length).array());
            f.write(json);
            f.setLength(8 + json.length + dataBytes);
        }
        return file;
    }

    private static Path idx(Path file, int magic, int... dims) throws IOException {
        try (DataOutputStream out = new DataOutputStream(Files.newOutputStream(file))) {
            out.writeInt(magic);
            for (int d : dims) {
                out.writeInt(d);
            }
        }
        return file;
    }

    /** An ImageFolder of two classes with two samples each. */
    private Path imageFolder() throws IOException {
        Path root = tmp.resolve("folder");
        for (String c : List.of("a", "b")) {
            Files.createDirectories(root.resolve(c));
        }
        Files.copy(SAMPLES.resolve("0000-ankle-boot.png"), root.resolve("a/1.png"));
        Files.copy(SAMPLES.resolve("0001-pullover.png"), root.resolve("a/2.png"));
        Files.copy(SAMPLES.resolve("0002-trouser.png"), root.resolve("b/1.png"));
        Files.copy(SAMPLES.resolve("0003-trouser.png"), root.resolve("b/2.png"));
        return root;
    }

    /** 6: images whose resize overflowed or took gigabytes are reported and skipped; the good one is classified. */
    @Test
    void extremeAspectRatiosAreRefusedAndTheOthersClassified() throws IOException {
        Path dir = tmp.resolve("images");
        Files.createDirectories(dir);
        Files.copy(Path.of(SAMPLE), dir.resolve("0-good.png"));
        Path wide = png(dir.resolve("1-wide.png"), 100_000, 1);
        png(dir.resolve("2-tall.png"), 1, 30_000);
        assertThat(Files.size(wide)).isLessThan(400);
        // short side to 32 (the demo's 28 / 0.875): 3200000x32 and 32x960000 pixels, over the limit of 10^7
        // (BatchRunnerTest has torchvision's 256, where 100000x1 overflowed an int)
        Cli r = Cli.run("classify", "-k", "1", "--backend", "reference", "--preset", "torchvision", "--max-pixels",
                "10000000", dir.toString());
        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.out().lines()).singleElement().asString().startsWith(dir.resolve("0-good.png") + ": ");
        assertThat(r.err().lines()).hasSize(2).allMatch(l -> l.startsWith("vit: ") && l.contains("pixel limit"))
                .anyMatch(l -> l.contains("1-wide.png")).anyMatch(l -> l.contains("2-tall.png"));
    }

    /** 7: a NaN weight or a NaN option is an error, not a ranking in index order. */
    @Test
    void nonFiniteLogitsAndOptionsAreErrors() {
        Path nan = timmWith("nan", t -> {
            float[] bias = t.get("head.bias").toArray().clone();
            bias[3] = Float.NaN;
            t.put("head.bias", Tensor.of(bias, bias.length));
        });
        expectError(args("classify", "--backend", "reference", "--model", nan.toString(), "--num-heads", "4",
                "--preset", "timm", SAMPLE), // a preset: no warning about guessing the preprocessing
                SAMPLE, "non-finite logits");
        expectError(args("run", "--backend", "reference", "--model", nan.toString(), "--num-heads", "4",
                "--input", Golden.dir("timm_tiny").resolve("input.safetensors").toString(),
                "--output", tmp.resolve("out.safetensors").toString()), "non-finite logits");
        assertThat(tmp.resolve("out.safetensors")).doesNotExist();
        expectUsageError(args("classify", "--mean", "NaN", SAMPLE), "--mean", "NaN");
        expectUsageError(args("classify", "--std", "Infinity", SAMPLE), "--std", "Infinity");
        expectUsageError(args("classify", "--crop-pct", "NaN", SAMPLE), "--crop-pct");
    }

    /** 8: output that cannot be written is a failure, and a closed output stops the run. */
    @Test
    void unwritableOutputIsAFailure() throws IOException {
        OutputStream full = new OutputStream() {
            @Override
            public void write(int b) throws IOException {
                throw new IOException("No space left on device");
            }
        };
        Cli classify = Cli.runWithStdout(full, "classify", "--backend", "reference", SAMPLES.toString());
        assertThat(classify.exitCode()).isEqualTo(1);
        assertThat(classify.err()).contains("standard output", "stopped");
        assertThat(classify.oneLineError()).isTrue();
        Cli eval = Cli.runWithStdout(full, "eval", "--backend", "reference", imageFolder().toString());
        assertThat(eval.exitCode()).isEqualTo(1);
        assertThat(eval.err().strip()).isEqualTo("vit: standard output: cannot write (closed pipe or full disk)");
    }

    /** 9: sizes that would exhaust memory are refused before allocating. */
    @Test
    void absurdSizesAreRefusedBeforeAllocating() throws IOException {
        expectUsageError(args("classify", "--threads", "2147483647", SAMPLE), "--threads must be between 0");
        expectError(args("bench", "--arch", "vit_tiny_patch16_224", "--num-classes", "2000000000"),
                "beyond Java's array size");
        expectError(args("bench", "--arch", "vit_tiny_patch16_224", "--batch", "100000"), "batch of 100000");
        expectError(args("classify", "--labels", "/dev/zero", SAMPLE), "/dev/zero", "not a regular file");
        Path bigIdx = idx(tmp.resolve("big-images-idx3-ubyte"), 0x0803, 1, 46340, 46340);
        idx(tmp.resolve("big-labels-idx1-ubyte"), 0x0801, 1);
        assertThat(Files.size(bigIdx)).isEqualTo(16);
        expectError(args("eval", bigIdx.toString()), bigIdx.toString(), "truncated IDX file");
        int max = Integer.MAX_VALUE;
        Path wrapIdx = idx(tmp.resolve("wrap-images-idx3-ubyte"), 0x0803, max, max, max); // 2^93 bytes
        idx(tmp.resolve("wrap-labels-idx1-ubyte"), 0x0801, max);
        expectError(args("eval", wrapIdx.toString()), wrapIdx.toString(), "too large");
    }

    /** 10: inputs that crashed with "internal error". */
    @Test
    void malformedCheckpointsAndOptionsAreOneLineErrors() throws IOException {
        String input = Golden.dir("timm_tiny").resolve("input.safetensors").toString();
        String out = tmp.resolve("o.safetensors").toString();
        Path flatPos = timmWith("flat-pos", t -> t.put("pos_embed", t.get("pos_embed").reshape(t.get("pos_embed").size())));
        expectError(args("run", "--model", flatPos.toString(), "--num-heads", "4", "--input", input, "--output", out),
                flatPos.toString(), "pos_embed");
        Path scalarFc1 = timmWith("scalar-fc1", t -> t.put("blocks.0.mlp.fc1.weight", Tensor.of(new float[] {1})));
        expectError(args("run", "--model", scalarFc1.toString(), "--num-heads", "4", "--input", input, "--output", out),
                scalarFc1.toString(), "fc1");
        Path wraps = rawSafetensors("wraps", "{\"x\":{\"dtype\":\"F32\",\"shape\":[65536,65536,65536,65536],"
                + "\"data_offsets\":[0,0]}}", 0);
        expectError(args("inspect", wraps.toString()), wraps.toString(), "64 bits");
        long big = 3L << 30;
        Path huge = rawSafetensors("huge", "{\"x\":{\"dtype\":\"F32\",\"shape\":[" + big / 4 + "],"
                + "\"data_offsets\":[0," + big + "]}}", big);
        expectError(args("inspect", huge.toString()), huge.toString(), "2 GiB");

        Path folder = imageFolder();
        expectError(args("eval", folder.toString(), "--predictions", tmp.resolve("missing/p.csv").toString()),
                "missing", "does not exist");
        if (Files.exists(Path.of("/dev/full"))) {
            expectError(args("eval", "--backend", "reference", folder.toString(), "--predictions", "/dev/full"),
                    "/dev/full", "cannot write");
        }
        expectError(args("classify", "--model", "org/never-downloaded", "--revision", "a b", SAMPLE), "--revision 'a b'");
        Path empty = idx(tmp.resolve("empty-images-idx3-ubyte"), 0x0803, 3, 0, 0);
        idx(tmp.resolve("empty-labels-idx1-ubyte"), 0x0801, 3);
        expectError(args("eval", empty.toString()), empty.toString(), "0x0");
    }

    /** 10: an unreadable directory is reported and the rest classified (as root, every directory is readable). */
    @Test
    void anUnreadableDirectoryCostsOnlyItsOwnImages() throws IOException {
        Path dir = tmp.resolve("tree");
        Files.createDirectories(dir.resolve("locked"));
        Files.copy(Path.of(SAMPLE), dir.resolve("good.png"));
        Files.copy(Path.of(SAMPLE), dir.resolve("locked/hidden.png"));
        dir.resolve("locked").toFile().setReadable(false, false);
        try {
            assumeThat(Files.isReadable(dir.resolve("locked"))).as("permissions apply (not root)").isFalse();
            Cli r = Cli.run("classify", "-k", "1", "--backend", "reference", dir.toString());
            assertThat(r.exitCode()).isEqualTo(1);
            assertThat(r.out().lines()).containsExactly(dir.resolve("good.png") + ": Ankle boot 0.7325");
            assertThat(r.err()).contains("locked").contains("permission denied");
        } finally {
            dir.resolve("locked").toFile().setReadable(true, false);
        }
    }

    /** 11: a FIFO (or device) is never opened, so it cannot block the run. */
    @Test
    void pipesAreNotRead() throws Exception {
        Path fifo = tmp.resolve("fifo.json");
        assumeThat(new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor()).isZero();
        assertTimeoutPreemptively(Duration.ofSeconds(30), () -> {
            expectError(args("inspect", TIMM.toString(), "--config", fifo.toString()), fifo.toString(),
                    "not a regular file");
            expectError(args("classify", "--labels", fifo.toString(), SAMPLE), "not a regular file");
            expectError(args("classify", "--backend", "reference", fifo.toString()), fifo.toString(),
                    "not a regular file");
            expectError(args("inspect", fifo.toString()), fifo.toString(), "not a regular file");
            expectError(args("run", "--input", fifo.toString(), "--output", tmp.resolve("o").toString()),
                    fifo.toString(), "not a regular file");
        });
    }

    /** 12: what was silently accepted. */
    @Test
    void nonsenseIsNoLongerSilentlyAccepted() throws IOException {
        Path folder = imageFolder();
        expectUsageError(args("eval", folder.toString(), "--limit", "-1"), "--limit must be at least 1");
        expectUsageError(args("eval", folder.toString(), "--limit", "0"), "--limit must be at least 1");
        Path hf = tmp.resolve("hf");
        Files.createDirectories(hf);
        Files.copy(Golden.dir("hf_tiny").resolve("model.safetensors"), hf.resolve("model.safetensors"));
        String config = Files.readString(Golden.dir("hf_tiny").resolve("config.json"));
        Files.writeString(hf.resolve("config.json"), config.replace("\"layer_norm_eps\": 1e-12", "\"layer_norm_eps\": \"abc\""));
        expectError(args("inspect", hf.toString()), "layer_norm_eps must be a finite number, not \"abc\"");
        expectError(args("inspect", "-m", TIMM.toString(), Golden.dir("hf_tiny").toString()), "not both");
        expectError(args("inspect", Golden.dir("hf_tiny").toString(), "--num-heads", "2"), "--num-heads",
                "config.json");
    }

    /** 12: symbolic links to image directories and class folders are followed, as ImageFolder does; loops reported. */
    @Test
    void symbolicLinksAreFollowedAndLoopsReported() throws IOException {
        Path dir = tmp.resolve("linked");
        Files.createDirectories(dir);
        Path real = tmp.resolve("real");
        Files.createDirectories(real);
        Files.copy(Path.of(SAMPLE), real.resolve("boot.png"));
        Files.createSymbolicLink(dir.resolve("images"), real);
        Files.createSymbolicLink(real.resolve("loop"), real);
        Cli r = Cli.run("classify", "-k", "1", "--backend", "reference", dir.toString());
        assertThat(r.out().lines()).containsExactly(dir.resolve("images/boot.png") + ": Ankle boot 0.7325");
        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.err()).contains("loop").contains("symbolic link loop, skipped");

        Path folder = imageFolder();
        Path outside = tmp.resolve("outside-class");
        Files.createDirectories(outside);
        Files.copy(Path.of(SAMPLE), outside.resolve("x.png"));
        Files.createSymbolicLink(folder.resolve("c"), outside);
        Cli eval = Cli.run("eval", "--backend", "reference", "--format", "json", folder.toString());
        assertThat(eval.exitCode()).as(eval.err()).isZero();
        assertThat(eval.out()).contains("\"count\":5").contains("\"name\":\"c\",\"model_index\":2,\"count\":1");
    }

    /** 13: a file name cannot forge output lines. */
    @Test
    void controlCharactersInFileNamesAreEscaped() throws IOException {
        Path dir = tmp.resolve("names");
        Files.createDirectories(dir);
        Path evil = dir.resolve("x.png\nforged.png: T-shirt 1.0000.png");
        Files.copy(Path.of(SAMPLE), evil);
        Cli r = Cli.run("classify", "-k", "1", "--backend", "reference", dir.toString());
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(r.out().lines()).containsExactly(dir + "/x.png\\nforged.png: T-shirt 1.0000.png: Ankle boot 0.7325");
        Cli csv = Cli.run("classify", "-k", "1", "--backend", "reference", "--format", "csv", dir.toString());
        assertThat(csv.out()).contains("\"" + evil + "\"");
    }
}
