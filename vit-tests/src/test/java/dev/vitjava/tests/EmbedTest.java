package dev.vitjava.tests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vitjava.checkpoint.ModelLoader;
import dev.vitjava.checkpoint.Safetensors;
import dev.vitjava.engine.InferenceEngine;
import dev.vitjava.engine.ReferenceEngine;
import dev.vitjava.image.Preprocessing;
import dev.vitjava.tensor.Tensor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * `vit embed` on the demo model and ten shipped samples, in batches of 4 (so rows stream in three batches), against
 * the reference engine's pre-logits and normalised tokens computed here.
 */
class EmbedTest {

    static final Path SAMPLES = ClassifyTest.SAMPLES;
    static List<Path> files;
    /** Per image: (T, D) normalised tokens from the reference engine. */
    static List<float[]> tokens = new ArrayList<>();
    static int t;
    static int d;

    @TempDir
    Path tmp;

    @BeforeAll
    static void reference() throws IOException {
        try (var list = Files.list(SAMPLES)) {
            files = list.filter(p -> p.toString().endsWith(".png")).sorted().limit(10).toList();
        }
        var model = ModelLoader.load(HubClassifyTest.DEMO);
        Preprocessing pre = model.preprocessing();
        try (InferenceEngine engine = new ReferenceEngine(model.model())) {
            for (Path f : files) {
                Tensor x = pre.load(f);
                Tensor normed = engine.forward(x.reshape(1, x.dim(0), x.dim(1), x.dim(2)), true).trace()
                        .get("tokens_normed");
                t = normed.dim(1);
                d = normed.dim(2);
                tokens.add(normed.toArray().clone());
            }
        }
    }

    private Cli embed(String... args) {
        List<String> all = new ArrayList<>(List.of("embed", "--batch", "4"));
        all.addAll(List.of(args));
        files.forEach(f -> all.add(f.toString()));
        return Cli.run(all.toArray(String[]::new));
    }

    private static float[] expectedRow(int image, String pool, boolean normalize) {
        float[] tok = tokens.get(image);
        float[] row;
        if (pool.equals("cls")) {
            row = java.util.Arrays.copyOf(tok, d); // the demo model pools the class token
        } else if (pool.equals("mean")) {
            row = new float[d];
            for (int j = 0; j < d; j++) {
                double s = 0;
                for (int r = 1; r < t; r++) {
                    s += tok[r * d + j];
                }
                row[j] = (float) (s / (t - 1));
            }
        } else {
            row = tok.clone();
        }
        if (normalize) {
            for (int r = 0; r < row.length; r += d) {
                double s = 0;
                for (int j = 0; j < d; j++) {
                    s += row[r + j] * row[r + j];
                }
                for (int j = 0; j < d; j++) {
                    row[r + j] /= (float) Math.sqrt(s);
                }
            }
        }
        return row;
    }

    @Test
    void safetensorsWithEveryPool() {
        for (String pool : List.of("cls", "mean", "tokens")) {
            for (boolean normalize : List.of(false, true)) {
                Path out = tmp.resolve(pool + normalize + ".safetensors");
                Cli r = normalize ? embed("--pool", pool, "--normalize", "-o", out.toString())
                        : embed("--pool", pool, "-o", out.toString());
                assertThat(r.exitCode()).as(r.err()).isZero();
                assertThat(r.out()).contains("wrote 10 embeddings");
                try (Safetensors st = Safetensors.open(out)) {
                    Tensor e = st.tensor("embeddings");
                    int rowSize = pool.equals("tokens") ? t * d : d;
                    assertThat(e.shape()).containsExactly(pool.equals("tokens") ? new int[] {10, t, d}
                            : new int[] {10, d});
                    for (int i = 0; i < 10; i++) {
                        float[] want = expectedRow(i, pool, normalize);
                        for (int j = 0; j < rowSize; j++) {
                            assertThat(e.get(i * rowSize + j)).as("%s %s image %d [%d]", pool, normalize, i, j)
                                    .isCloseTo(want[j], within(2e-5f));
                        }
                    }
                    JsonNode listed = new ObjectMapper().readTree(st.metadata().get("files"));
                    assertThat(listed).hasSize(10);
                    assertThat(listed.get(3).asText()).isEqualTo(files.get(3).toString());
                    assertThat(st.metadata()).containsEntry("pool", pool);
                } catch (IOException e) {
                    throw new RuntimeException(e);
                }
            }
        }
        try (var left = Files.list(tmp)) {
            assertThat(left.filter(p -> p.getFileName().toString().startsWith("."))).as("temporary files").isEmpty();
        } catch (IOException e) {
            throw new RuntimeException(e);
        }
    }

    @Test
    void npyCsvAndJsonLinesHoldTheSameRows() throws IOException {
        Path npy = tmp.resolve("e.npy");
        assertThat(embed("--normalize", "-o", npy.toString()).exitCode()).isZero();
        byte[] bytes = Files.readAllBytes(npy);
        assertThat(new String(bytes, 1, 5, StandardCharsets.US_ASCII)).isEqualTo("NUMPY");
        int headerLen = (bytes[8] & 0xff) | (bytes[9] & 0xff) << 8;
        assertThat((10 + headerLen) % 64).isZero();
        String header = new String(bytes, 10, headerLen, StandardCharsets.US_ASCII);
        assertThat(header).contains("'descr': '<f4'").contains("'shape': (10, " + d + ")");
        ByteBuffer data = ByteBuffer.wrap(bytes, 10 + headerLen, bytes.length - 10 - headerLen)
                .order(ByteOrder.LITTLE_ENDIAN);
        assertThat(data.remaining()).isEqualTo(4 * 10 * d);
        for (int i = 0; i < 10; i++) {
            float[] want = expectedRow(i, "cls", true);
            for (int j = 0; j < d; j++) {
                assertThat(data.getFloat()).isCloseTo(want[j], within(2e-5f));
            }
        }

        Path csv = tmp.resolve("e.csv");
        assertThat(embed("--pool", "mean", "-o", csv.toString()).exitCode()).isZero();
        List<String> rows = Files.readAllLines(csv);
        assertThat(rows).hasSize(11);
        assertThat(rows.get(0)).startsWith("file,e0,e1,").endsWith(",e" + (d - 1));
        String[] cells = rows.get(5).split(",");
        assertThat(cells[0]).isEqualTo(files.get(4).toString());
        float[] want = expectedRow(4, "mean", false);
        for (int j = 0; j < d; j++) {
            assertThat(Float.parseFloat(cells[j + 1])).isCloseTo(want[j], within(2e-5f));
        }

        Path jsonl = tmp.resolve("e.jsonl");
        assertThat(embed("--pool", "tokens", "-o", jsonl.toString()).exitCode()).isZero();
        List<String> lines = Files.readAllLines(jsonl);
        assertThat(lines).hasSize(10);
        JsonNode line = new ObjectMapper().readTree(lines.get(2));
        assertThat(line.get("file").asText()).isEqualTo(files.get(2).toString());
        assertThat(line.get("embedding")).hasSize(t);
        assertThat(line.get("embedding").get(7)).hasSize(d);
        assertThat(line.get("embedding").get(7).get(3).floatValue()).isCloseTo(tokens.get(2)[7 * d + 3],
                within(2e-5f));
    }

    @Test
    void badOutputsAndUnreadableImages() throws IOException {
        Cli r = embed("-o", tmp.resolve("x.bin").toString());
        assertThat(r.exitCode()).isNotZero();
        assertThat(r.oneLineError()).as(r.err()).isTrue();
        assertThat(r.err()).contains("--format");
        r = embed("--pool", "tokens", "-o", tmp.resolve("x.csv").toString());
        assertThat(r.exitCode()).isNotZero();
        assertThat(r.err()).contains("--pool tokens");
        r = embed("-o", tmp.resolve("missing/x.npy").toString());
        assertThat(r.exitCode()).isNotZero();
        assertThat(r.oneLineError()).as(r.err()).isTrue();
        try (var left = Files.list(tmp)) {
            assertThat(left).isEmpty();
        }
        // a broken image among good ones: reported, skipped, the rest written, exit 1
        Path bad = tmp.resolve("bad.png");
        Files.writeString(bad, "not a png");
        Path out = tmp.resolve("e.safetensors");
        r = Cli.run("embed", "-o", out.toString(), files.get(0).toString(), bad.toString(), files.get(1).toString());
        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.err()).contains("bad.png");
        try (Safetensors st = Safetensors.open(out)) {
            assertThat(st.entry("embeddings").shape()).containsExactly(2, d);
        }
    }
}
