package dev.vitjava.tests;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vitjava.cli.Main;
import dev.vitjava.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import picocli.CommandLine.Model.OptionSpec;

/** The command line's conventions: exit codes, help, option spellings, default model, warnings, formats. */
class CommandLineTest {

    static final Path SAMPLES = ClassifyTest.SAMPLES;
    static final String SAMPLE = SAMPLES.resolve("0000-ankle-boot.png").toString();
    static final Path CHELSEA = Path.of("..", "vit-core", "src", "test", "resources", "image", "chelsea.png");

    @TempDir
    Path tmp;

    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void everyUsageErrorExitsWithTwoOnOneLine() {
        for (String[] args : List.of(
                new String[] {"classify", "--top-k", "0", SAMPLE},
                new String[] {"classify", "--batch", "0", SAMPLE},
                new String[] {"classify", "--preset", "imagenet", SAMPLE},
                new String[] {"classify", "--format", "tsv", SAMPLE},
                new String[] {"classify", "--img-size", "abc", SAMPLE},
                new String[] {"classify", "--interpolation", "sinc", SAMPLE},
                new String[] {"classify", "--crop-pct", "1.5", SAMPLE},
                new String[] {"classify", "--std", "0", SAMPLE},
                new String[] {"classify", "--max-pixels", "0", SAMPLE},
                new String[] {"classify", "--mean", "0.1,0.2", SAMPLE}, // two values for a grayscale model
                new String[] {"classify", "-b", "reference", SAMPLE}, // -b is the batch size, not the backend
                new String[] {"eval", "--batch-size", "-1", "x"},
                new String[] {"bench", "--iters", "0"},
                new String[] {"bench", "--format", "yaml"},
                new String[] {"classify", "--no-such-option", SAMPLE},
                new String[] {"classify"},
                new String[] {"clasify", SAMPLE})) {
            Cli r = Cli.run(args);
            String what = String.join(" ", args);
            assertThat(r.exitCode()).as("%s -> %s", what, r.err()).isEqualTo(2);
            assertThat(r.oneLineError()).as("%s -> %s", what, r.err()).isTrue();
            assertThat(r.err()).as(what).contains("--help");
        }
        Cli typo = Cli.run("clasify", SAMPLE);
        assertThat(typo.err()).contains("unknown command 'clasify'", "did you mean 'classify'?");
        Cli failure = Cli.run("classify", tmp.resolve("missing.png").toString());
        assertThat(failure.exitCode()).as("a failed file is not a usage error").isEqualTo(1);
    }

    /** Help fits 80 columns, command descriptions are never re-wrapped, and no word is split across lines. */
    @Test
    void helpFitsEightyColumnsWithoutBrokenWords() {
        CommandLine root = new CommandLine(new Main());
        List<CommandLine> commands = new ArrayList<>(List.of(root));
        root.getSubcommands().values().stream()
                .filter(c -> !(c.getCommand() instanceof CommandLine.HelpCommand)) // picocli's own text
                .forEach(commands::add);
        for (CommandLine cmd : commands) {
            String name = cmd.getCommandSpec().qualifiedName();
            List<String> args = new ArrayList<>(Arrays.asList(name.split(" ")).subList(1, name.split(" ").length));
            args.add("--help");
            Cli r = Cli.run(args.toArray(String[]::new));
            assertThat(r.exitCode()).as(name).isZero();
            List<String> lines = r.out().lines().toList();
            assertThat(lines).as(name).allSatisfy(l -> assertThat(l.length()).as("%s: %s", name, l)
                    .isLessThanOrEqualTo(80));
            List<String> fixed = new ArrayList<>(List.of(cmd.getCommandSpec().usageMessage().description()));
            fixed.addAll(List.of(cmd.getCommandSpec().usageMessage().footer()));
            for (String d : fixed) {
                assertThat(lines).as("%s description line", name).contains(d.stripTrailing());
            }
            List<String> tokens = Arrays.asList(r.out().split("\\s+"));
            for (OptionSpec o : cmd.getCommandSpec().options()) {
                for (String d : o.description()) {
                    for (String word : d.replace("${DEFAULT-VALUE}", String.valueOf(o.defaultValue()))
                            .replace("${COMPLETION-CANDIDATES}", "").split("\\s+")) {
                        if (!word.isEmpty() && !word.contains("${") && !word.startsWith(",")) {
                            assertThat(tokens).as("%s %s: '%s' unbroken", name, o.longestName(), word)
                                    .anyMatch(t -> t.contains(word));
                        }
                    }
                }
            }
        }
    }

    @Test
    void optionSpellingsOfTimmAndHuggingFace() throws IOException {
        Cli r = Cli.run("classify", "--topk", "2", "--batch-size", "4", "--format", "json", SAMPLE);
        assertThat(r.exitCode()).as(r.err()).isZero();
        JsonNode top = JSON.readTree(r.out()).get("top");
        assertThat(top).hasSize(2);
        assertThat(top.get(0).get("label").asText()).isEqualTo("Ankle boot");
        assertThat(top.get(0).get("score").asDouble()).isEqualTo(top.get(0).get("prob").asDouble())
                .isBetween(0.73, 0.74);
        Cli b = Cli.run("classify", "-b", "7", "-k", "1", SAMPLES.toString());
        assertThat(b.exitCode()).as("-b is the batch size: %s", b.err()).isZero();
        assertThat(b.out().lines()).hasSize(30);
    }

    @Test
    void oneDefaultModelForEveryCommandAndItsShortName() throws IOException {
        Path out = tmp.resolve("x.safetensors");
        Cli pre = Cli.run("preprocess", SAMPLE, "--output", out.toString());
        assertThat(pre.exitCode()).as(pre.err()).isZero();
        Tensor pixels = Golden.read(out).get("pixel_values");
        assertThat(pixels.shape()).containsExactly(1, 1, 28, 28);
        Path logits = tmp.resolve("logits.safetensors");
        Cli run = Cli.run("run", "--input", out.toString(), "--output", logits.toString());
        assertThat(run.exitCode()).as("run takes what preprocess writes: %s", run.err()).isZero();
        Tensor expected = Golden.read(Path.of(ClassifyTest.class.getResource("/demo/samples_logits.safetensors")
                .getPath())).get("logits_b1");
        for (int j = 0; j < 10; j++) {
            assertThat((double) Golden.read(logits).get("logits").get(j)).as("logit %d", j)
                    .isCloseTo(expected.get(j), org.assertj.core.api.Assertions.within(1e-5));
        }
        Cli demo = Cli.run("classify", "--model", "demo", "-k", "1", SAMPLE);
        assertThat(demo.out().strip()).isEqualTo(SAMPLE + ": Ankle boot 0.7325");
        assertThat(Cli.run("inspect", "demo").out()).contains("in_chans      1");
    }

    /** Folders named after the model's labels match by name; otherwise by position, with a warning if misnamed. */
    @Test
    void evalMatchesImageFolderClassesByName() throws IOException {
        Path byName = tmp.resolve("by-name");
        Map<String, String> folders = Map.of("ankle boot", "0000-ankle-boot.png", "Bag", "0018-bag.png",
                "TROUSER", "0002-trouser.png");
        for (Map.Entry<String, String> e : folders.entrySet()) {
            Files.copy(SAMPLES.resolve(e.getValue()), Files.createDirectories(byName.resolve(e.getKey()))
                    .resolve(e.getValue()));
        }
        Cli r = Cli.run("eval", "--format", "json", byName.toString());
        assertThat(r.exitCode()).as(r.err()).isZero();
        JsonNode report = JSON.readTree(r.out());
        assertThat(report.get("class_matching").asText()).isEqualTo("name");
        assertThat(report.get("top1_correct").asInt()).as(r.out()).isEqualTo(3);
        assertThat(report.get("per_class").get(0).get("model_index").asInt()).as("'Bag' sorts first").isEqualTo(8);
        assertThat(r.err()).isEmpty();
        assertThat(Cli.run("eval", byName.toString()).out()).contains("classes  matched to the model's labels by"
                + " folder name", "top-1    100.00 % (3/3)");

        Files.createDirectories(byName.resolve("cats"));
        Files.copy(SAMPLES.resolve("0001-pullover.png"), byName.resolve("cats").resolve("0001-pullover.png"));
        Cli mixed = Cli.run("eval", byName.toString());
        assertThat(mixed.exitCode()).as(mixed.err()).isZero();
        assertThat(mixed.out()).contains("classes  matched by sorted folder position");
        assertThat(mixed.err()).startsWith("vit: warning: folder 'Bag' is class 0 by sorted position, but the"
                + " model's class 8 is 'Bag'");
    }

    @Test
    void inspectShowsThePreprocessingAndWhereItCameFrom() throws IOException {
        Cli text = Cli.run("inspect", "--no-tensors", "--mean", "0.5");
        assertThat(text.exitCode()).as(text.err()).isZero();
        assertThat(text.out())
                .containsPattern("interpolation +bilinear +\\(config.json pretrained_cfg.interpolation\\)")
                .containsPattern("mean +\\[0.5] +\\(--mean\\)")
                .containsPattern("std +\\[0.353] +\\(config.json pretrained_cfg.std\\)");

        Cli json = Cli.run("inspect", "--format", "json", Golden.dir("timm_tiny").resolve("model.safetensors")
                .toString(), "--num-heads", "4");
        assertThat(json.exitCode()).as(json.err()).isZero();
        JsonNode o = JSON.readTree(json.out());
        assertThat(o.get("config").get("embed_dim").asInt()).isEqualTo(64);
        assertThat(o.get("preprocessing").get("mean").get("value").asText()).isEqualTo("[0.485, 0.456, 0.406]");
        assertThat(o.get("preprocessing").get("mean").get("source").asText()).startsWith("default for timm naming");
        assertThat(o.get("tensors")).isNotEmpty();
        assertThat(json.err()).as("a bare checkpoint's guess is said").contains("warning", "without a preprocessing"
                + " config");

        Cli devices = Cli.run("devices", "--format", "json");
        assertThat(devices.exitCode()).isZero();
        assertThat(JSON.readTree(devices.out()).get("backends").findValuesAsText("name")).contains("reference", "cpu",
                "tornado");
    }

    @Test
    void warningsInsteadOfSilentGuesses() {
        Cli colour = Cli.run("classify", "-k", "1", CHELSEA.toString(), CHELSEA.toString());
        assertThat(colour.exitCode()).as(colour.err()).isZero();
        assertThat(colour.err().strip()).as("once").isEqualTo("vit: warning: " + CHELSEA + " is a colour image and the"
                + " model takes grayscale: converted to L (luma), as PIL's convert('L') does (said once)");
        assertThat(Cli.run("classify", SAMPLE).err()).as("a grayscale file gets none").isEmpty();

        Cli big = Cli.run("classify", "--img-size", "224", SAMPLE);
        assertThat(big.exitCode()).as(big.err()).isZero();
        assertThat(big.err()).contains("resampled from a 7x7 grid to 56x56 (8.0x)");
        assertThat(Cli.run("classify", "--img-size", "32", SAMPLE).err()).isEmpty();
    }

    @Test
    void argumentFiles() throws IOException {
        Path args = tmp.resolve("args.txt");
        Files.writeString(args, "classify\n-k 1\n# a comment\n" + SAMPLE + "\n");
        Cli r = Cli.run("@" + args);
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(r.out().strip()).isEqualTo(SAMPLE + ": Ankle boot 0.7325");
    }

    /** TIFF files written by PIL decode to PIL's pixels: the same results as the PNG of the same image. */
    @Test
    void tiffImages() throws IOException {
        Path tiffs = Path.of(CommandLineTest.class.getResource("/tiff").getPath());
        Cli r = Cli.run("classify", "-k", "2", tiffs.resolve("ankle-boot-lzw.tif").toString());
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(r.out()).endsWith(": Ankle boot 0.7325 | Sneaker 0.1758\n");
        Tensor png = preprocess(tiffs.resolve("chelsea-small.png"));
        for (String tiff : List.of("chelsea-small-deflate.tif", "chelsea-small-rgba.tif")) {
            assertThat(preprocess(tiffs.resolve(tiff)).toArray()).as(tiff).containsExactly(png.toArray());
        }
    }

    private Tensor preprocess(Path image) {
        Path out = tmp.resolve(image.getFileName() + ".safetensors");
        Cli r = Cli.run("preprocess", "--preset", "hf", "--img-size", "24,32", image.toString(), "-o", out.toString());
        assertThat(r.exitCode()).as(r.err()).isZero();
        return Golden.read(out).get("pixel_values");
    }
}
