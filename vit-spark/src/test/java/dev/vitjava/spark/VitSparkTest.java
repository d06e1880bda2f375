package dev.vitjava.spark;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vitjava.VitException;
import dev.vitjava.checkpoint.LoadedModel;
import dev.vitjava.cli.EvalReport;
import dev.vitjava.cli.Main;
import dev.vitjava.cli.ModelSpec;
import dev.vitjava.engine.Backends;
import dev.vitjava.engine.EngineOptions;
import dev.vitjava.engine.InferenceEngine;
import dev.vitjava.image.ImageDecoder;
import dev.vitjava.image.Preprocessing;
import dev.vitjava.tensor.Tensor;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Spark jobs in local[2] (one session for the module) against the CLI run in-process on the same files: the
 * same results for every readable image, an error row for every other file, one engine for every job.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class VitSparkTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    private Fixtures.Tree tree;
    private SparkSession spark;
    private VitSpark vit;

    @BeforeAll
    void start(@TempDir Path tmp) throws IOException {
        tree = Fixtures.write(tmp.resolve("images"));
        spark = SparkSession.builder().master("local[2]").appName("vit-spark tests")
                .config("spark.ui.enabled", false).getOrCreate();
        vit = new VitSpark(spark);
    }

    @AfterAll
    void stop() {
        spark.stop();
    }

    /** The CLI's exit code, stdout and stderr. */
    private record Cli(int code, String out, String err) {
        static Cli run(String... args) {
            StringWriter out = new StringWriter();
            StringWriter err = new StringWriter();
            int code = Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
            return new Cli(code, out.toString(), err.toString());
        }
    }

    private static Path local(String sparkPath) {
        return Path.of(URI.create(sparkPath));
    }

    @Test
    @Order(1)
    void classifyGivesTheCliResultsAndAnErrorRowPerBadFile() throws IOException {
        assertThat(tree.good()).hasSize(303);
        Cli cli = Cli.run("classify", "--format", "json", "--top-k", "3", "--quiet", tree.root().toString());
        assertThat(cli.code()).isEqualTo(1); // some files failed
        Map<Path, JsonNode> expected = new HashMap<>();
        for (String line : cli.out().strip().split("\n")) {
            JsonNode n = JSON.readTree(line);
            expected.put(Path.of(n.get("file").asText()), n.get("top"));
        }
        Map<Path, String> cliErrors = new HashMap<>();
        List<String> cliLoops = new ArrayList<>();
        for (String line : cli.err().strip().split("\n")) {
            if (line.startsWith("vit: warning: ")) {
                continue; // e.g. colour images into the grayscale demo model: advice, not a failed file
            }
            if (line.endsWith(": symbolic link loop, skipped")) {
                cliLoops.add(line.substring("vit: ".length()));
                continue;
            }
            String message = line.substring("vit: ".length());
            cliErrors.put(Path.of(message.substring(0, message.indexOf(": "))), message.substring(message.indexOf(": ")));
        }
        assertThat(expected.keySet()).containsExactlyInAnyOrderElementsOf(tree.good());
        assertThat(cliErrors.keySet()).containsExactlyInAnyOrderElementsOf(tree.bad());

        // Another batch size than the CLI's 16: results do not depend on which images share a batch.
        List<Row> rows = vit.classify(vit.images(tree.root().toString()), JobOptions.defaults().withTopK(3).withBatch(7))
                .collectAsList();
        assertThat(cliLoops).hasSize(tree.loops().size());
        assertThat(vit.listingProblems()).containsExactlyInAnyOrderElementsOf(cliLoops);
        assertThat(rows.stream().map(r -> local(r.getString(0))).toList()).containsExactlyInAnyOrderElementsOf(tree.all());
        for (Row r : rows) {
            Path file = local(r.getString(0));
            if (tree.bad().contains(file)) {
                assertThat(r.isNullAt(1)).isTrue();
                assertThat(r.getString(2)).as(file.toString()).isEqualTo(r.getString(0) + cliErrors.get(file));
                continue;
            }
            assertThat(r.isNullAt(2)).as(file + ": " + r.getString(2)).isTrue();
            List<Row> top = r.getList(1);
            JsonNode want = expected.get(file);
            assertThat(top).as(file.toString()).hasSize(want.size());
            for (int k = 0; k < top.size(); k++) {
                assertThat(top.get(k).getInt(0)).isEqualTo(want.get(k).get("index").asInt());
                assertThat(top.get(k).getString(1)).isEqualTo(want.get(k).get("label").asText());
                assertThat(top.get(k).getFloat(2)).as(file + " rank " + k)
                        .isEqualTo((float) want.get(k).get("prob").asDouble());
            }
        }
    }

    @Test
    @Order(2)
    void embedGivesTheEnginesPreLogits() {
        List<Path> some = tree.good().subList(0, 40);
        List<Row> rows = vit.embed(spark.read().format("binaryFile").load(some.stream().map(Path::toString)
                .toArray(String[]::new)), JobOptions.defaults().withBatch(5)).collectAsList();
        assertThat(rows).hasSize(some.size());
        LoadedModel model = ModelSpec.of(null).load(null);
        Preprocessing preprocessing = model.preprocessing();
        ImageDecoder decoder = new ImageDecoder();
        try (InferenceEngine engine = Backends.create("cpu", model.model(), EngineOptions.defaults())) {
            for (Row r : rows) {
                assertThat(r.isNullAt(2)).isTrue();
                Tensor x = preprocessing.toTensor(decoder.decode(local(r.getString(0)), preprocessing.mode()));
                int[] chw = x.shape();
                Tensor features = engine.forward(x.reshape(1, chw[0], chw[1], chw[2]), false).preLogits();
                List<Float> embedding = r.getList(1);
                float[] got = new float[embedding.size()];
                for (int i = 0; i < got.length; i++) {
                    got[i] = embedding.get(i);
                }
                assertThat(got).as(r.getString(0)).containsExactly(features.toArray());
            }
        }
    }

    @Test
    @Order(3)
    void evaluateGivesVitEvalsReport() {
        String root = tree.root().toString();
        Cli cli = Cli.run("eval", "--format", "json", "--confusion", "--quiet", root);
        List<String> errors = new ArrayList<>();
        EvalReport report = vit.evaluate(root, JobOptions.defaults(), errors::add);
        StringWriter json = new StringWriter();
        new EvalReport(report.dataset(), report.eval(), report.failed(), report.matching(), true)
                .print(new PrintWriter(json, true), EvalReport.Format.json);
        assertThat(json.toString()).isEqualTo(cli.out());
        assertThat(report.failed()).isEqualTo(tree.bad().size() + tree.loops().size()); // as vit eval counts them
        assertThat(report.eval().count()).isEqualTo(tree.good().size());
        assertThat(errors).hasSize(tree.bad().size() + tree.loops().size());
        // The demo model on altered samples: some right, some wrong, so the per-class table and matrix carry numbers.
        assertThat(report.eval().top1()).isBetween(0.3, 0.99);
    }

    @Test
    @Order(3)
    void aLocalFileIsTakenAsItIsLikeInTheCli() {
        // Spark's own reader drops a file whose name starts with '_', even named on its own
        Path underscore = tree.good().stream().filter(f -> f.getFileName().toString().startsWith("_")).findFirst()
                .orElseThrow();
        List<Row> rows = vit.classify(vit.images(underscore.toString()), JobOptions.defaults()).collectAsList();
        assertThat(rows).hasSize(1);
        assertThat(local(rows.get(0).getString(0))).isEqualTo(underscore);
        assertThat(rows.get(0).isNullAt(2)).as(rows.get(0).getString(2)).isTrue();

        // a device is not read (it never ends), and gets the CLI's error, not Spark's "empty file"
        Path device = Path.of("/dev/zero");
        assumeTrue(Files.exists(device));
        VitSpark own = new VitSpark(spark); // its counters, not those the last test checks
        Row zero = own.classify(own.images(device.toString()), JobOptions.defaults()).collectAsList().get(0);
        assertThat(zero.getString(2)).isEqualTo("/dev/zero: not a regular file (a pipe or device is not read)");
    }

    @Test
    void anEmptyDirectoryIsRefusedAsInTheCli(@TempDir Path tmp) {
        assertThatThrownBy(() -> vit.images(tmp.toString())).isInstanceOf(VitException.class)
                .hasMessage(tmp + ": no image files in this directory");
    }

    @Test
    @Order(4)
    void anExistingOutputIsRefusedByDefault(@TempDir Path tmp) {
        SparkMain.OutputMixin output = new SparkMain.OutputMixin();
        output.output = tmp.toString();
        output.format = SparkMain.OutputMixin.Format.json;
        output.mode = SparkMain.OutputMixin.Mode.error_if_exists;
        assertThatThrownBy(() -> output.checkTarget(spark))
                .isInstanceOf(VitException.class)
                .hasMessage(tmp + ": already exists (--mode overwrite or append to write there)");
    }

    @Test
    @Order(5)
    void aMissingInputIsOneLine(@TempDir Path tmp) {
        String missing = tmp.resolve("nothing-here").toString();
        assertThatThrownBy(() -> vit.images(missing)).isInstanceOf(VitException.class)
                .hasMessage(missing + ": no such file or directory (or nothing matches the glob)");
        assertThatThrownBy(() -> vit.images(tmp + "/*.png")).isInstanceOf(VitException.class)
                .hasMessageEndingWith(": no such file or directory (or nothing matches the glob)");
    }

    @Test
    void dashBIsTheBatchSizeAsEverywhereInVit(@TempDir Path tmp) {
        StringWriter err = new StringWriter();
        int code = Main.run(new String[] {"spark", "classify", "-b", "reference", "--input", tmp.toString(),
            "--output", tmp.resolve("out").toString()}, new PrintWriter(new StringWriter(), true),
                new PrintWriter(err, true), new SparkMain());
        assertThat(code).as(err.toString()).isEqualTo(2); // a usage error: -b takes a number, not a backend name
        assertThat(err.toString()).contains("-b");
    }

    @Test
    @Order(6)
    void everyJobRanOnOneEnginePerExecutorJvm() {
        // local[2]: the driver JVM is the one executor, with two cores, and ran several tasks per job.
        assertThat(ExecutorModel.executorCores()).isEqualTo(2);
        var lookups = spark.sparkContext().longAccumulator();
        assertThat(ExecutorModel.get(JobOptions.defaults(), lookups).engine.threads()).isEqualTo(2);
        assertThat(lookups.value()).isZero(); // the jobs' engine, not a new one
        assertThat(vit.images(tree.root().toString()).rdd().getNumPartitions()).isGreaterThan(2);
        assertThat(vit.images()).isGreaterThanOrEqualTo(2L * tree.all().size());
        assertThat(vit.enginesCreated()).isEqualTo(1);
        // And a later job (another action) reuses it.
        vit.classify(vit.images(tree.good().get(0).toString()), JobOptions.defaults()).count();
        assertThat(vit.enginesCreated()).isEqualTo(1);
        assertThat(vit.unreadable()).isEqualTo(2L * tree.bad().size());
    }
}
