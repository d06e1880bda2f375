package dev.vitjava.tests;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vitjava.checkpoint.SafetensorsWriter;
import dev.vitjava.tensor.Tensor;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Inputs that used to allocate gigabytes, run in one child JVM with a 128 MiB heap: each must end in a one-line
 * error (exit 1; 2 for a bad option value) before allocating, never an OutOfMemoryError, and the JVM must survive
 * all of them.
 */
class HeavyInputTest {

    private static final String HEAP = "-Xmx128m";

    @TempDir
    Path tmp;

    @Test
    void memoryStaysBoundedInASmallHeap() throws IOException, InterruptedException {
        Path wide = HostileInputTest.png(tmp.resolve("wide.png"), 100_000, 1);
        Path tall = HostileInputTest.png(tmp.resolve("tall.png"), 1, 20_000);
        Path taller = HostileInputTest.png(tmp.resolve("taller.png"), 1, 30_000);
        Path input = tmp.resolve("input-512.safetensors");
        SafetensorsWriter.write(input, Map.of("pixel_values", Tensor.of(new float[3 * 512 * 512], 1, 3, 512, 512)),
                Map.of());
        Path bomb = tmp.resolve("bomb-images-idx3-ubyte.gz"); // 16 bytes declaring 46340x46340, gzipped
        try (DataOutputStream out = new DataOutputStream(new GZIPOutputStream(Files.newOutputStream(bomb)))) {
            out.writeInt(0x0803);
            out.writeInt(1);
            out.writeInt(46340);
            out.writeInt(46340);
        }
        Files.write(tmp.resolve("bomb-labels-idx1-ubyte"), new byte[] {0, 0, 8, 1, 0, 0, 0, 1, 0});
        String timm = Golden.dir("timm_tiny").resolve("model.safetensors").toAbsolutePath().toString();

        List<List<String>> cases = List.of(
                List.of("classify", "--preset", "torchvision", "--img-size", "224", wide.toString(), tall.toString(),
                        taller.toString()),
                List.of("run", "--model", timm, "--num-heads", "4", "--input", input.toString(), "--output",
                        tmp.resolve("trace.safetensors").toString(), "--trace"),
                List.of("bench", "--arch", "vit_base_patch16_224", "--iters", "1", "--warmup", "0"),
                List.of("bench", "--arch", "vit_base_patch16_224", "--num-classes", "2000000000"),
                List.of("eval", bomb.toString()),
                List.of("classify", "--labels", "/dev/zero", wide.toString()),
                List.of("classify", "--threads", "2147483647", wide.toString()));
        List<String> expected = List.of("pixel limit", "with its trace needs at least",
                "the model's weights needs at least", "beyond Java's array size", "does not fit in the Java heap",
                "not a regular file", "--threads must be between");
        // a bad option value is a usage error (exit 2); the others fail on their input (exit 1)
        List<String> codes = List.of("1", "1", "1", "1", "1", "1", "2");

        Path caseFile = tmp.resolve("cases.tsv");
        Files.write(caseFile, cases.stream().map(c -> String.join("\t", c)).toList());
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                HEAP, "--add-modules", "jdk.incubator.vector", "-cp", System.getProperty("java.class.path"),
                HeavyInputs.class.getName(), caseFile.toString()));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(false).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(err).isZero();
        List<String> results = out.lines().toList();
        assertThat(results).as(err).hasSize(cases.size());
        for (int i = 0; i < cases.size(); i++) {
            String[] r = results.get(i).split("\t", 2);
            String what = String.join(" ", cases.get(i)) + " -> " + results.get(i);
            assertThat(r[0]).as(what).isEqualTo(codes.get(i));
            assertThat(r[1]).as(what).contains(expected.get(i)).doesNotContain("OutOfMemoryError", "Exception",
                    "internal error");
            if (i > 0) {
                assertThat(r[1]).as("one line: " + what).doesNotContain("\\n");
            }
        }
        assertThat(results.get(0).split("\t", 2)[1].split("\\\\n")).as("one line per image (and the warnings)")
                .filteredOn(l -> !l.startsWith("vit: warning: ")).hasSize(3);
    }
}
