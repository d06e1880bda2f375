package dev.vitjava.tests;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The README's vit-core library example compiles against this build and classifies like PyTorch. */
class ReadmeExampleTest {

    static final String MARKER = "<!-- library-example -->";

    @TempDir
    Path tmp;

    @Test
    void libraryExampleCompilesAndClassifies() throws Exception {
        String readme = Files.readString(LauncherTest.ROOT.resolve("README.md"));
        int start = readme.indexOf("```java\n", readme.indexOf(MARKER)) + "```java\n".length();
        String code = readme.substring(start, readme.indexOf("```", start));
        Path source = tmp.resolve("Classify.java");
        Files.writeString(source, code);
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        String classpath = System.getProperty("java.class.path");
        assertThat(javac.run(null, null, null, "-d", tmp.toString(), "-cp", classpath, source.toString()))
                .as("javac on the README example").isZero();

        Path demo = HubClassifyTest.DEMO.toAbsolutePath();
        List<String> command = new ArrayList<>(List.of(LauncherTest.java(), "--add-modules", "jdk.incubator.vector",
                "-Duser.language=en", "-cp", tmp + File.pathSeparator + classpath, "Classify", demo.toString(),
                LauncherTest.SAMPLE.toString()));
        Process p = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).isZero();
        List<String> expected = new ArrayList<>();
        for (JsonNode top : ClassifyTest.reference().get("0000-ankle-boot.png").get("top3")) {
            expected.add(String.format(Locale.ROOT, "%s %.4f", top.get("label").asText(), top.get("prob").asDouble()));
        }
        assertThat(out.lines()).containsExactlyElementsOf(expected);
    }

    /** The demo model's README states its tensor and parameter counts and where its reference files are. */
    @Test
    void demoModelReadmeStatesTheFacts() throws Exception {
        String readme = Files.readString(HubClassifyTest.DEMO.resolve("README.md"));
        try (var st = dev.vitjava.checkpoint.Safetensors.open(HubClassifyTest.DEMO.resolve("model.safetensors"))) {
            long parameters = st.entries().values().stream()
                    .mapToLong(e -> java.util.Arrays.stream(e.shape()).asLongStream().reduce(1, (a, b) -> a * b)).sum();
            assertThat(readme).contains(st.entries().size() + " tensors")
                    .contains(String.format(Locale.ROOT, "%,d parameters", parameters));
        }
        for (String file : List.of("samples/", "vit-tests/src/test/resources/demo/samples_logits.safetensors",
                "vit-tests/src/test/resources/demo/samples.json")) {
            assertThat(readme).contains("`" + file + "`");
            assertThat(LauncherTest.ROOT.resolve(file)).exists();
        }
    }
}
