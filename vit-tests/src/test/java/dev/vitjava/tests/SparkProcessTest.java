package dev.vitjava.tests;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code vit spark classify} as a user runs it, in its own JVM on vit-spark's jar and class path: with a hub id, the
 * executor (here the {@code local[2]} driver with two task slots) downloads the model from a fake Hugging Face Hub into
 * its cache once, however many tasks need it, and classifies the shipped samples as {@code vit classify} does; with a
 * bad model or master, the command fails with one line and no stack trace.
 */
class SparkProcessTest {

    private static final Path SPARK = Path.of("..", "vit-spark", "target");

    @TempDir
    Path tmp;

    /** The job's JVM, started with {@code args}, its output (both streams) going to {@code log}. */
    private static ProcessBuilder sparkMain(Path log, String... args) throws Exception {
        // only what the cpu engine needs: this JVM's own flags may carry TornadoVM's module path
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java")
                .toString(), "--add-modules", "jdk.incubator.vector"));
        cmd.addAll(List.of("-cp", SPARK.resolve("vit-spark.jar") + File.pathSeparator
                + Files.readString(SPARK.resolve("classpath")).strip(), "dev.vitjava.spark.SparkMain"));
        cmd.addAll(List.of(args));
        return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
    }

    @Test
    void aBadModelOrMasterFailsWithOneLine() throws Exception {
        Path notAModel = Files.writeString(tmp.resolve("model.safetensors"), "not a checkpoint at all\n");
        String[][] cases = {
            {"--master", "local[2]", "--model", notAModel.toString()},
            {"--master", "bogus"},
        };
        String[] expected = {"vit: " + notAModel + ": ", "vit: --master bogus: not a Spark master URL"};
        for (int i = 0; i < cases.length; i++) {
            Path log = tmp.resolve("bad-" + i + ".log");
            List<String> args = new ArrayList<>(List.of("classify", "--input", ClassifyTest.SAMPLES.toString(),
                    "--output", tmp.resolve("out-" + i).toString()));
            args.addAll(List.of(cases[i]));
            Process p = sparkMain(log, args.toArray(String[]::new)).start();
            assertThat(p.waitFor(4, TimeUnit.MINUTES)).as("the job finished").isTrue();
            String output = Files.readString(log);
            assertThat(p.exitValue()).as(output).isEqualTo(1);
            List<String> errors = output.lines().filter(l -> l.startsWith("vit: ")).toList();
            assertThat(errors).as(output).hasSize(1);
            assertThat(errors.get(0)).startsWith(expected[i]);
            assertThat(output).as("no stack trace").doesNotContain("\tat ").doesNotContain("Exception");
            assertThat(tmp.resolve("out-" + i)).doesNotExist();
        }
    }

    @Test
    void theExecutorDownloadsAHubModelOnceAndClassifiesWithIt() throws Exception {
        try (FakeHub hub = new FakeHub("zalando/vit-fashion-mnist", Map.of(
                "config.json", Files.readAllBytes(HubClassifyTest.DEMO.resolve("config.json")),
                "model.safetensors", Files.readAllBytes(HubClassifyTest.DEMO.resolve("model.safetensors"))))) {
            Path out = tmp.resolve("out");
            Path log = tmp.resolve("spark.log");
            ProcessBuilder pb = sparkMain(log, "classify", "--master", "local[2]", "--model",
                    "zalando/vit-fashion-mnist", "--top-k", "1", "--batch", "4", "--input",
                    ClassifyTest.SAMPLES.toString(), "--output", out.toString(), "--format", "json");
            pb.environment().put("HF_ENDPOINT", hub.endpoint());
            pb.environment().put("HF_HUB_CACHE", tmp.resolve("cache").toString());
            pb.environment().put("HF_HUB_OFFLINE", "0");
            Process p = pb.start();
            assertThat(p.waitFor(4, TimeUnit.MINUTES)).as("the job finished").isTrue();
            assertThat(p.exitValue()).as(Files.readString(log)).isZero();

            JsonNode reference = ClassifyTest.reference();
            ObjectMapper json = new ObjectMapper();
            List<JsonNode> rows = new ArrayList<>();
            try (Stream<Path> files = Files.list(out)) {
                for (Path f : files.filter(f -> f.getFileName().toString().endsWith(".json")).toList()) {
                    for (String line : Files.readAllLines(f)) {
                        rows.add(json.readTree(line));
                    }
                }
            }
            assertThat(rows).hasSize(30);
            for (JsonNode row : rows) {
                String file = Path.of(row.get("path").asText()).getFileName().toString();
                assertThat(row.get("top").get(0).get("index").asInt()).as(file)
                        .isEqualTo(reference.get(file).get("top3").get(0).get("index").asInt());
            }
            assertThat(hub.modelGets.get()).as("downloads of model.safetensors").isEqualTo(1);
        }
    }
}
