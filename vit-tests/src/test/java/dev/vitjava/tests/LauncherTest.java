package dev.vitjava.tests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The command as people start it, in separate processes: the {@code vit} launcher under a pseudo-terminal
 * ({@code script}), {@code java -jar vit.jar} without the vector module, stderr to a file, stdin as an image, and
 * the launcher's rebuild decision.
 */
class LauncherTest {

    static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
    static final Path JAR = ROOT.resolve("vit-cli/target/vit.jar");
    static final Path SAMPLE = ROOT.resolve("samples/0000-ankle-boot.png");
    /** One frame of the classify progress bar: a carriage return, then the bar. */
    static final Pattern FRAME = Pattern.compile("\r(classify \\[[# ]+] (\\d+)/(\\d+))");

    @TempDir
    Path tmp;

    record Run(int exitCode, String out, String err) {
    }

    static String java() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    static boolean hasScript() {
        return Files.isExecutable(Path.of("/usr/bin/script"));
    }

    /** Runs a command with stdin from {@code stdin} (or nothing), collecting stdout and stderr. */
    static Run run(List<String> command, Path stdin, Map<String, String> env) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(command);
        pb.environment().putAll(env);
        pb.redirectInput(stdin != null ? ProcessBuilder.Redirect.from(stdin.toFile()) : ProcessBuilder.Redirect.PIPE);
        Process p = pb.start();
        if (stdin == null) {
            p.getOutputStream().close();
        }
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        Thread errReader = Thread.ofVirtual().start(() -> copy(p.getErrorStream(), err));
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(180, TimeUnit.SECONDS)).as("finished: %s", command).isTrue();
        errReader.join();
        return new Run(p.exitValue(), out, err.toString(StandardCharsets.UTF_8));
    }

    private static void copy(InputStream in, OutputStream out) {
        try {
            in.transferTo(out);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    static String quote(Object s) {
        return "'" + s.toString().replace("'", "'\\''") + "'";
    }

    /**
     * The launcher shows the progress bar while the run goes on: under a pseudo-terminal, with stdout to a file, the
     * run stops at the last image (stdin, fed only once a frame of the bar has arrived), so a bar held back by a
     * buffer until the end fails the test rather than making it slow.
     */
    @Test
    void progressBarIsLiveThroughTheLauncherAndDecidedByStderr() throws Exception {
        assumeThat(hasScript()).as("util-linux script").isTrue();
        Path fifo = tmp.resolve("image.fifo");
        assertThat(new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor()).isZero();
        Path out = tmp.resolve("out.txt");
        String inner = "cat " + quote(fifo) + " | " + quote(ROOT.resolve("vit")) + " classify --backend reference --batch 1 -k 1 "
                + quote(ROOT.resolve("samples")) + " - > " + quote(out);
        Process p = new ProcessBuilder("script", "-qfec", inner, "/dev/null").start();
        ByteArrayOutputStream terminal = new ByteArrayOutputStream();
        Thread reader = Thread.ofVirtual().start(() -> copy(p.getInputStream(), terminal));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (!FRAME.matcher(terminal.toString(StandardCharsets.UTF_8)).find() && p.isAlive()
                && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        String beforeStdin = terminal.toString(StandardCharsets.UTF_8);
        try (OutputStream image = Files.newOutputStream(fifo)) {
            Files.copy(SAMPLE, image);
        }
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        reader.join();
        assertThat(FRAME.matcher(beforeStdin).find()).as("a frame of the bar before the run ended: %s", beforeStdin)
                .isTrue();
        assertThat(p.exitValue()).as(terminal.toString(StandardCharsets.UTF_8)).isZero();

        String shown = terminal.toString(StandardCharsets.UTF_8);
        Matcher frames = FRAME.matcher(shown);
        List<String> seen = new ArrayList<>();
        while (frames.find()) {
            seen.add(frames.group(1));
            assertThat(frames.group(3)).isEqualTo("31");
        }
        assertThat(seen.size()).as("redraws: %s", seen).isGreaterThanOrEqualTo(2);
        assertThat(seen.get(seen.size() - 1)).endsWith("31/31");
        assertThat(shown).doesNotContain("WARNING").doesNotContain("Exception");
        List<String> lines = Files.readAllLines(out);
        assertThat(lines).hasSize(31).last().isEqualTo("-: Ankle boot 0.7325");
        assertThat(String.join("\n", lines)).doesNotContain("\r");
    }

    /** stderr to a file never gets \r frames, even when stdin and stdout are a terminal. */
    @Test
    void stderrToAFileGetsNoFrames() throws Exception {
        assumeThat(hasScript()).as("util-linux script").isTrue();
        Path err = tmp.resolve("err.log");
        String inner = quote(ROOT.resolve("vit")) + " classify --backend reference --batch 1 "
                + quote(ROOT.resolve("samples")) + " 2> "
                + quote(err);
        Run r = run(List.of("script", "-qfec", inner, "/dev/null"), null, Map.of());
        assertThat(r.exitCode()).as(r.out()).isZero();
        assertThat(r.out()).contains("0000-ankle-boot.png: Ankle boot 0.7325");
        assertThat(Files.readString(err)).doesNotContain("\r").doesNotContain("classify [");
    }

    /**
     * {@code java -jar vit.jar} without {@code --add-modules jdk.incubator.vector} restarts itself with it: the cpu
     * engine runs, stdin reaches the image reader, stderr (a file) stays clean, and exit codes pass through.
     */
    @Test
    void plainJavaJarRunsWithStdinAndExitCodes() throws Exception {
        Run ok = run(List.of(java(), "-jar", JAR.toString(), "classify", "-k", "1", "--backend", "cpu", "-"), SAMPLE,
                Map.of());
        assertThat(ok.exitCode()).as(ok.err()).isZero();
        assertThat(ok.out().strip()).isEqualTo("-: Ankle boot 0.7325");
        assertThat(ok.err()).isEmpty();

        Run usage = run(List.of(java(), "-jar", JAR.toString(), "classify", "--top-k", "0", SAMPLE.toString()), null,
                Map.of());
        assertThat(usage.exitCode()).isEqualTo(2);
        assertThat(usage.err().strip()).startsWith("vit classify: ").doesNotContain("\n").doesNotContain("WARNING");

        Run bad = run(List.of(java(), "-jar", JAR.toString(), "classify", "--backend", "reference", "-"),
                Files.createFile(tmp.resolve("empty")), Map.of());
        assertThat(bad.exitCode()).isEqualTo(1);
        assertThat(bad.err().strip()).isEqualTo("vit: stdin: empty file, not an image");
    }

    /**
     * A Java that runs without the vector module and cannot restart with it (simulated with the restart's own loop
     * guard) runs the default backend's commands on the reference engine, saying so in one line.
     */
    @Test
    void withoutTheVectorModuleTheReferenceEngineRuns() throws Exception {
        Run r = run(List.of(java(), "-Dvit.relaunched=true", "-jar", JAR.toString(), "classify", "-k", "1",
                SAMPLE.toString()), null, Map.of());
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(r.out().strip()).isEqualTo(SAMPLE + ": Ankle boot 0.7325");
        assertThat(r.err().strip()).isEqualTo("vit: running on the reference engine (slower): the cpu backend is not"
                + " available: this Java runs without the jdk.incubator.vector module; start it with --add-modules"
                + " jdk.incubator.vector (the vit launcher does), or use --backend reference");
        Run cpu = run(List.of(java(), "-Dvit.relaunched=true", "-jar", JAR.toString(), "classify", "--backend", "cpu",
                SAMPLE.toString()), null, Map.of());
        assertThat(cpu.exitCode()).as("asked for by name: an error").isEqualTo(1);
        assertThat(cpu.err().strip()).startsWith("vit: backend 'cpu' is not available: this Java runs without");
    }

    /** Under a terminal, the relaunched JVM's bar still shows (it is told stderr is a terminal) without the notice. */
    @Test
    void plainJavaJarShowsTheBarOnATerminal() throws Exception {
        assumeThat(hasScript()).as("util-linux script").isTrue();
        Path out = tmp.resolve("out.txt");
        String inner = quote(java()) + " -jar " + quote(JAR) + " classify --backend reference --batch 4 " + quote(ROOT.resolve("samples"))
                + " > " + quote(out);
        Run r = run(List.of("script", "-qfec", inner, "/dev/null"), null, Map.of());
        assertThat(r.exitCode()).as(r.out()).isZero();
        assertThat(FRAME.matcher(r.out()).find()).as(r.out()).isTrue();
        assertThat(r.out()).doesNotContain("WARNING");
        assertThat(Files.readAllLines(out)).hasSize(30);
    }

    /** The launcher rebuilds for vit-core or vit-cli changes, and for vit-tornado only with a TornadoVM SDK set. */
    @Test
    void launcherRebuildsOnlyForWhatGoesIntoTheJar() throws Exception {
        List<Path> sources = checkout("exit 3");
        Path root = tmp.resolve("checkout");
        Path log = root.resolve("build.log");
        List<String> version = List.of(root.resolve("vit").toString(), "--version");
        Map<String, String> noSdk = Map.of("TORNADOVM_HOME", "");

        Files.setLastModifiedTime(sources.get(2), FileTime.from(Instant.now().plusSeconds(60)));
        Run tornadoOnly = run(version, null, noSdk);
        assertThat(tornadoOnly.exitCode()).as(tornadoOnly.err()).isZero();
        assertThat(tornadoOnly.out()).startsWith("vit ");
        assertThat(log).doesNotExist();

        Run withSdk = run(version, null, Map.of("TORNADOVM_HOME", tmp.toString()));
        assertThat(withSdk.exitCode()).isEqualTo(1);
        assertThat(withSdk.err()).contains("building the CLI", "build failed");
        assertThat(log).exists();
        Files.delete(log);

        Files.setLastModifiedTime(sources.get(0), FileTime.from(Instant.now().plusSeconds(60)));
        Run core = run(version, null, noSdk);
        assertThat(core.exitCode()).isEqualTo(1);
        assertThat(log).exists();
    }

    /**
     * A checkout under tmp/checkout with the launcher, a fake {@code build} that logs its arguments to build.log and
     * ends with {@code buildExit}, vit-core, vit-cli, vit-tornado and vit-spark sources (returned in that order),
     * vit.jar and vit-spark.jar, the jars newer than everything else.
     */
    private List<Path> checkout(String buildExit) throws IOException {
        Path root = tmp.resolve("checkout");
        Files.createDirectories(root.resolve("scripts"));
        Files.copy(ROOT.resolve("vit"), root.resolve("vit"));
        Files.copy(ROOT.resolve("scripts/jdk.sh"), root.resolve("scripts/jdk.sh"));
        Files.copy(ROOT.resolve("scripts/jvm-flags.sh"), root.resolve("scripts/jvm-flags.sh"));
        Path log = root.resolve("build.log");
        Files.writeString(root.resolve("build"), "#!/bin/sh\necho \"$@\" >> " + quote(log) + "\n" + buildExit + "\n");
        root.resolve("build").toFile().setExecutable(true);
        root.resolve("vit").toFile().setExecutable(true);
        Instant old = Instant.now().minusSeconds(3600);
        List<Path> sources = new ArrayList<>();
        for (String m : List.of("vit-core", "vit-cli", "vit-tornado", "vit-spark")) {
            Path src = Files.createDirectories(root.resolve(m).resolve("src/main/java")).resolve("A.java");
            Files.writeString(src, "class A {}");
            Files.writeString(root.resolve(m).resolve("pom.xml"), "<project/>");
            sources.add(src);
        }
        Files.writeString(root.resolve("pom.xml"), "<project/>");
        Files.createDirectories(root.resolve("vit-cli/target"));
        Files.copy(JAR, root.resolve("vit-cli/target/vit.jar"));
        Files.createDirectories(root.resolve("vit-spark/target"));
        Files.copy(JAR, root.resolve("vit-spark/target/vit-spark.jar"));
        Files.writeString(root.resolve("vit-spark/target/classpath"), root.resolve("spark.jar").toString());
        try (var all = Files.walk(root)) {
            for (Path f : all.toList()) {
                if (!f.endsWith("vit.jar") && !f.endsWith("vit-spark.jar")) {
                    Files.setLastModifiedTime(f, FileTime.from(old));
                }
            }
        }
        return sources;
    }

    /**
     * A build after which Maven left the jar as it was (nothing in it changed) still counts: the next run does not
     * build again.
     */
    @Test
    void aBuildThatLeftTheJarAsItWasIsNotRepeated() throws Exception {
        List<Path> sources = checkout("exit 0");
        Path root = tmp.resolve("checkout");
        Path log = root.resolve("build.log");
        // a vit-core source newer than the jar; the fake build leaves the jar alone, as Maven does when it is current
        Instant now = Instant.now();
        Files.setLastModifiedTime(root.resolve("vit-cli/target/vit.jar"), FileTime.from(now.minusSeconds(10)));
        Files.setLastModifiedTime(sources.get(0), FileTime.from(now.minusSeconds(5)));
        List<String> version = List.of(root.resolve("vit").toString(), "--version");
        Map<String, String> noSdk = Map.of("TORNADOVM_HOME", "");

        Run first = run(version, null, noSdk);
        assertThat(first.exitCode()).as(first.err()).isZero();
        assertThat(first.err()).contains("building the CLI");
        Run second = run(version, null, noSdk);
        assertThat(second.exitCode()).as(second.err()).isZero();
        assertThat(second.err()).doesNotContain("building the CLI");
        assertThat(Files.readAllLines(log)).hasSize(1);
    }

    /**
     * {@code vit spark}'s class-data-sharing archive (docs/distributed.md): only a job that succeeds writes one, under
     * a temporary name renamed into place after the JVM exits; help and failed runs leave nothing; later runs map it;
     * a rebuild of the jar, a build outside the launcher or another JDK drops it; plain {@code vit} runs never touch
     * it ({@link #fakeJdk}).
     */
    @Test
    void sparkArchiveIsWrittenBySuccessfulJobsOnlyAndDroppedOnRebuild() throws Exception {
        List<Path> sources = checkout("exit 0");
        Path root = tmp.resolve("checkout");
        Path args = tmp.resolve("java-args.log");
        Path jdk = fakeJdk(args).resolve("bin");
        Path archive = root.resolve("vit-spark/target/vit-spark.jsa");
        String vit = root.resolve("vit").toString();
        List<String> classify = List.of(vit, "spark", "classify", "--input", "in", "--output", "out");
        Map<String, String> ok = Map.of("JAVA_HOME", jdk.getParent().toString(), "TORNADOVM_HOME", "",
                "FAKE_EXIT", "0");
        Map<String, String> failing = Map.of("JAVA_HOME", jdk.getParent().toString(), "TORNADOVM_HOME", "",
                "FAKE_EXIT", "1");

        assertThat(run(List.of(vit, "spark", "classify", "--help"), null, ok).exitCode()).isZero();
        assertThat(lastJvm(args)).doesNotContain("ArchiveClassesAtExit", "SharedArchiveFile");
        assertThat(run(List.of(vit, "classify", "x.png"), null, ok).exitCode()).isZero();
        assertThat(lastJvm(args)).doesNotContain("ArchiveClassesAtExit", "SharedArchiveFile");
        assertThat(run(classify, null, failing).exitCode()).isEqualTo(1);
        assertThat(lastJvm(args)).contains("-XX:ArchiveClassesAtExit=" + archive + ".");
        assertThat(archive.getParent()).isDirectoryNotContaining("glob:**.jsa*");

        assertThat(run(classify, null, ok).exitCode()).isZero();
        assertThat(Files.readString(archive).strip()).isEqualTo("archive");
        assertThat(archive.getParent()).isDirectoryContaining("glob:**.jsa")
                .isDirectoryNotContaining("glob:**.jsa.[0-9]*");
        assertThat(run(classify, null, ok).exitCode()).isZero();
        assertThat(lastJvm(args)).contains("-XX:SharedArchiveFile=" + archive).doesNotContain("ArchiveClassesAtExit");

        // the JVM would ignore the archive after a build outside the launcher or a JDK update: a new one is made
        Path jar = root.resolve("vit-spark/target/vit-spark.jar");
        Files.setLastModifiedTime(jar, FileTime.from(Files.getLastModifiedTime(jar).toInstant().plusMillis(10)));
        assertThat(run(classify, null, ok).exitCode()).isZero();
        assertThat(lastJvm(args)).contains("-XX:ArchiveClassesAtExit=").doesNotContain("SharedArchiveFile");
        assertThat(run(classify, null, ok).exitCode()).isZero();
        assertThat(lastJvm(args)).contains("-XX:SharedArchiveFile=" + archive);
        Files.writeString(jdk.resolveSibling("lib/modules"), "jdk 25.0.1");
        assertThat(run(classify, null, ok).exitCode()).isZero();
        assertThat(lastJvm(args)).contains("-XX:ArchiveClassesAtExit=").doesNotContain("SharedArchiveFile");
        assertThat(archive.getParent()).isDirectoryContaining("glob:**.jsa")
                .isDirectoryNotContaining("glob:**.jsa.[0-9]*");

        Files.setLastModifiedTime(sources.get(3), FileTime.from(Instant.now().plusSeconds(60)));
        Run rebuilt = run(List.of(vit, "spark", "--version"), null, ok);
        assertThat(rebuilt.err()).contains("building the CLI");
        assertThat(archive).doesNotExist();
        assertThat(lastJvm(args)).doesNotContain("ArchiveClassesAtExit", "SharedArchiveFile");
    }

    /**
     * Below 4 CPUs the launcher gives HotSpot a third compiler thread, for the cpu engine's warm-up, but not to a
     * command that runs the tornado backend, whose JIT compilation runs on the main thread (docs/performance.md).
     */
    @Test
    void aThirdCompilerThreadOnlyWhenTheCommandDoesNotRunTheTornadoBackend() throws Exception {
        checkout("exit 0");
        String vit = tmp.resolve("checkout/vit").toString();
        Path args = tmp.resolve("java-args.log");
        Map<String, String> env = Map.of("JAVA_HOME", fakeJdk(args).toString(), "TORNADOVM_HOME", "");
        boolean fewCpus = Runtime.getRuntime().availableProcessors() < 4;
        for (List<String> command : List.of(List.of(vit, "classify", "--backend", "tornado", "x.png"),
                List.of(vit, "bench", "--backend=tornado", "--batch", "8"))) {
            assertThat(run(command, null, env).exitCode()).isZero();
            assertThat(lastJvm(args)).as("%s", command).doesNotContain("CICompilerCount");
        }
        for (List<String> command : List.of(List.of(vit, "classify", "x.png"),
                List.of(vit, "classify", "--backend", "cpu", "--device-memory", "tornado", "x.png"))) {
            assertThat(run(command, null, env).exitCode()).isZero();
            assertThat(lastJvm(args).contains("-XX:CICompilerCount=3")).as("%s", command).isEqualTo(fewCpus);
        }
    }

    /**
     * A fake JDK under tmp/jdk, returned: its java records each JVM's arguments in {@code argsLog} and, like
     * {@code -XX:ArchiveClassesAtExit}, writes the archive it was asked for before exiting with {@code FAKE_EXIT}.
     */
    private Path fakeJdk(Path argsLog) throws IOException {
        Path bin = Files.createDirectories(tmp.resolve("jdk/bin"));
        Files.writeString(bin.resolve("java"), """
                #!/bin/bash
                if [[ " $* " == *" -version "* ]]; then echo '    java.specification.version = 25' >&2; exit 0; fi
                echo "$*" >> %s
                for a in "$@"; do
                  case "$a" in -XX:ArchiveClassesAtExit=*) echo archive > "${a#-XX:ArchiveClassesAtExit=}";; esac
                done
                exit "${FAKE_EXIT:-0}"
                """.formatted(quote(argsLog)));
        Files.writeString(bin.resolve("javac"), "#!/bin/sh\n");
        bin.resolve("java").toFile().setExecutable(true);
        bin.resolve("javac").toFile().setExecutable(true);
        Files.writeString(Files.createDirectories(bin.resolveSibling("lib")).resolve("modules"), "jdk 25");
        return bin.getParent();
    }

    /** The arguments of the last JVM the fake JDK ran (its version probes not counted). */
    private static String lastJvm(Path log) throws IOException {
        List<String> lines = Files.readAllLines(log);
        return lines.get(lines.size() - 1);
    }

    /** Maven's own libraries call sun.misc.Unsafe, which JDK 24+ warns about; ./build keeps that out. */
    @Test
    void buildOutputHasNoUnsafeWarnings() throws Exception {
        Run r = run(List.of(ROOT.resolve("build").toString(), "-q", "-o", "-N", "validate"), null, Map.of());
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(r.out() + r.err()).doesNotContain("sun.misc.Unsafe");
    }
}
