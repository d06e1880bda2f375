package dev.vitjava.spark;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.File;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The job jar as a cluster runs it: spark-submit's entry point ({@code org.apache.spark.deploy.SparkSubmit}) in a
 * fresh JVM whose class path is Spark's jars and nothing of vit's but {@code target/vit-spark-job.jar}.
 */
class SparkSubmitIT {

    private static final Path TARGET = Path.of("target");

    /** Spark's class path: Maven's provided scope, and Jackson, which Spark ships and Maven counts as vit-core's. */
    private static String sparkClassPath() throws IOException {
        List<String> cp = new ArrayList<>(List.of(Files.readString(TARGET.resolve("spark-classpath")).strip()
                .split(File.pathSeparator)));
        Arrays.stream(Files.readString(TARGET.resolve("classpath")).strip().split(File.pathSeparator))
                .filter(e -> e.contains("/com/fasterxml/jackson/")).forEach(cp::add);
        return String.join(File.pathSeparator, cp);
    }

    private record Run(int code, String err) {
    }

    private static Run sparkSubmit(Path log, String... jobArgs) throws Exception {
        List<String> command = new ArrayList<>();
        command.add(ProcessHandle.current().info().command().orElseThrow());
        command.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments().stream()
                .filter(a -> a.startsWith("--") || a.startsWith("-XX:")).toList()); // the module's JVM flags
        command.addAll(List.of("-cp", sparkClassPath(), "org.apache.spark.deploy.SparkSubmit",
                "--master", "local[2]", "--conf", "spark.ui.enabled=false",
                "--class", "dev.vitjava.spark.SparkMain", TARGET.resolve("vit-spark-job.jar").toString()));
        command.addAll(List.of(jobArgs));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        assertThat(p.waitFor(5, TimeUnit.MINUTES)).as("spark-submit finished").isTrue();
        return new Run(p.exitValue(), Files.readString(log));
    }

    @Test
    void theJobJarClassifiesWithSparkSubmitArguments(@TempDir Path tmp) throws Exception {
        Fixtures.Tree tree = Fixtures.write(tmp.resolve("images"));
        Path dir = tree.root().resolve("9-ankle-boot"); // ten images and every bad file
        List<Path> bad = tree.bad();
        long good = tree.good().stream().filter(f -> f.startsWith(dir)).count();
        Path out = tmp.resolve("out");
        Run run = sparkSubmit(tmp.resolve("log"), "classify", "--input", dir.toString(),
                "--output", out.toString(), "--format", "json", "--top-k", "2", "--batch", "4");
        assertThat(run.code()).as(run.err()).isEqualTo(1); // rows written, and some images unreadable
        assertThat(run.err()).contains("vit spark classify: " + (good + bad.size()) + " images, " + bad.size()
                + " unreadable");
        List<JsonNode> rows = new ArrayList<>();
        try (Stream<Path> parts = Files.list(out)) {
            for (Path part : parts.filter(f -> f.getFileName().toString().endsWith(".json")).toList()) {
                for (String line : Files.readAllLines(part)) {
                    rows.add(new ObjectMapper().readTree(line));
                }
            }
        }
        assertThat(rows).hasSize((int) good + bad.size());
        assertThat(rows.stream().filter(r -> r.has("error"))).hasSize(bad.size());
        assertThat(rows.stream().filter(r -> !r.has("error"))).allSatisfy(r -> {
            assertThat(r.get("top")).hasSize(2);
            assertThat(r.get("top").get(0).get("label").asText()).isNotEmpty();
        });
    }
}
