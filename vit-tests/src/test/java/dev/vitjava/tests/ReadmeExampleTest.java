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
}
