package dev.vitjava.tests;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vitjava.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Checkpoints as they are published, end to end through {@code vit run}, {@code vit convert} and {@code vit inspect}:
 * the golden formats of shared/golden/formats (torch.save zip pickles, Hugging Face pytorch_model.bin, JAX .npz, with
 * PyTorch's float64 logits), the layouts of scripts/make-format-fixtures.py (training checkpoints, strided, shared and
 * float64 storages, shards, npz variants) against the timm_tiny golden logits, and pickles that run a shell command
 * under Python's unpickler, which must never run here.
 */
class FormatsTest {

    /** PyTorch float32 lands about 1e-6 from its float64 logits; so do we. */
    private static final double TOLERANCE = 1e-5;

    @TempDir
    Path tmp;

    /** A golden format case (shared/golden/formats). */
    static Path formats(String name) {
        return Golden.resource("/golden/formats/" + name);
    }

    /** A fixture of scripts/make-format-fixtures.py. */
    static Path fixture(String name) {
        return Golden.resource("/formats/" + name);
    }

    /** Each golden case: its directory and what --model gets (the checkpoint file, or the directory). */
    static Stream<Arguments> goldenCases() {
        return Stream.of(Arguments.of("timm_tiny_pth", "model.pth"), Arguments.of("tv_tiny_pth", "model.pth"),
                Arguments.of("hf_tiny_bin", ""), Arguments.of("timm_tiny_npz", "model.npz"));
    }

    /** `vit run` on a model; returns the logits. */
    private Tensor run(String model, Path input, String inputKey, String... extra) {
        Path out = tmp.resolve("out-" + System.nanoTime() + ".safetensors");
        List<String> args = new java.util.ArrayList<>(List.of("run", "--model", model, "--num-heads", "4",
                "--input", input.toString(), "--input-key", inputKey, "--output", out.toString()));
        args.addAll(List.of(extra));
        Cli r = Cli.run(args.toArray(String[]::new));
        assertThat(r.exitCode()).as(r.err()).isZero();
        return Golden.read(out).get("logits");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("goldenCases")
    void goldenFormatGivesPyTorchLogitsThroughRunAndAfterConvert(String name, String file) {
        Path dir = formats(name);
        Path input = dir.resolve("input.safetensors");
        Tensor expected = Golden.read(dir.resolve("expected_f64.safetensors")).get("logits");
        String model = dir.resolve(file).toString();
        assertThat(Golden.maxAbsDiff(run(model, input, "pixel_values"), expected)).as("run").isLessThan(TOLERANCE);

        Path converted = tmp.resolve("converted").resolve("model.safetensors");
        Cli c = Cli.run("convert", model, converted.toString(), "--num-heads", "4");
        assertThat(c.exitCode()).as(c.err()).isZero();
        assertThat(converted.resolveSibling("config.json")).exists();
        assertThat(Golden.maxAbsDiff(run(converted.getParent().toString(), input, "pixel_values"), expected))
                .as("after convert").isLessThan(TOLERANCE);
    }

    @ParameterizedTest
    @ValueSource(strings = {"hf", "torchvision", "timm"})
    void convertToEveryNamingKeepsTheLogits(String naming) {
        Path dir = formats("timm_tiny_pth");
        Path input = dir.resolve("input.safetensors");
        Tensor expected = Golden.read(dir.resolve("expected_f64.safetensors")).get("logits");
        Path out = tmp.resolve(naming).resolve("model.safetensors");
        Cli c = Cli.run("convert", dir.resolve("model.pth").toString(), out.toString(), "--num-heads", "4",
                "--naming", naming);
        assertThat(c.exitCode()).as(c.err()).isZero();
        Cli inspect = Cli.run("inspect", out.getParent().toString(), "--no-tensors");
        assertThat(inspect.out()).contains("format        safetensors",
                "naming        " + (naming.equals("hf") ? "huggingface" : naming), "config from   " + out.getParent());
        assertThat(Golden.maxAbsDiff(run(out.getParent().toString(), input, "pixel_values"), expected))
                .isLessThan(TOLERANCE);
    }

    @Test
    void convertRefusesBadOptionsInOneLine() {
        String model = formats("timm_tiny_pth").resolve("model.pth").toString();
        Cli naming = Cli.run("convert", model, tmp.resolve("x.safetensors").toString(), "--naming", "keras");
        assertThat(naming.exitCode()).isEqualTo(2);
        assertThat(naming.err()).contains("--naming", "keras");
        Cli out = Cli.run("convert", model, tmp.resolve("x.bin").toString(), "--num-heads", "4");
        assertThat(out.exitCode()).isEqualTo(1);
        assertThat(out.oneLineError()).as(out.err()).isTrue();
        assertThat(out.err()).contains("must be a .safetensors file");
        assertThat(tmp.resolve("x.bin")).doesNotExist();
        assertThat(tmp.resolve("config.json")).doesNotExist();
    }

    /** The timm_tiny golden logits for its batch-1 input. */
    private static Tensor timmTinyLogits() {
        return Golden.expected("timm_tiny", "_b1").get("logits");
    }

    private Tensor runTimmTiny(Path model, String... extra) {
        return run(model.toString(), Golden.dir("timm_tiny").resolve("input.safetensors"), "pixel_values_b1", extra);
    }

    @ParameterizedTest
    @ValueSource(strings = {"views_f64.pth", "sharded", "sharded/model.safetensors.index.json", "opt_target.npz",
        "compressed.npz", "big_vision.npz"})
    void publishedLayoutsGiveTheGoldenLogits(String name) {
        assertThat(Golden.maxAbsDiff(runTimmTiny(fixture(name)), timmTinyLogits())).isLessThan(TOLERANCE);
    }

    @Test
    void trainingCheckpointUsesTheModelOrWithEmaTheEmaWeights() {
        Path ckpt = fixture("training_ema.pth");
        assertThat(Golden.maxAbsDiff(runTimmTiny(ckpt, "--ema"), timmTinyLogits())).isLessThan(TOLERANCE);
        // the "model" weights are the golden ones plus 0.01: a different model
        assertThat(Golden.maxAbsDiff(runTimmTiny(ckpt), timmTinyLogits())).isGreaterThan(1e-3);
        Cli inspect = Cli.run("inspect", ckpt.toString(), "--num-heads", "4", "--no-tensors");
        assertThat(inspect.exitCode()).as(inspect.err()).isZero();
        assertThat(inspect.out()).contains("PyTorch zip pickle", "weights from 'model'", "removed the 'module.' prefix",
                "argparse.Namespace", "EMA weights present and not used (use --ema)", "naming        timm");
        Cli ema = Cli.run("inspect", ckpt.toString(), "--num-heads", "4", "--no-tensors", "--ema");
        assertThat(ema.out()).contains("weights from 'state_dict_ema' (EMA weights, --ema)",
                "removed the '_orig_mod.' prefix");
    }

    @Test
    void inspectNamesTheFormat() {
        assertThat(Cli.run("inspect", fixture("sharded").toString(), "--num-heads", "4").out())
                .contains("format        2 safetensors shards", "shard model-00001-of-00002.safetensors");
        assertThat(Cli.run("inspect", formats("timm_tiny_npz").resolve("model.npz").toString(), "--num-heads", "4",
                "--no-tensors").out()).contains("format        JAX/Flax .npz", "google-research/vision_transformer");
        assertThat(Cli.run("inspect", fixture("big_vision.npz").toString(), "--num-heads", "4", "--no-tensors").out())
                .contains("big_vision layout under 'params/'");
    }

    @Test
    void legacyAndBarePicklesAreRefusedWithoutBeingParsed() {
        Cli legacy = Cli.run("inspect", fixture("legacy.pth").toString(), "--num-heads", "4");
        assertThat(legacy.exitCode()).isEqualTo(1);
        assertThat(legacy.oneLineError()).as(legacy.err()).isTrue();
        assertThat(legacy.err()).contains("legacy (pre-1.6) torch.save format");
        Cli bf16 = Cli.run("inspect", fixture("bf16.npz").toString(), "--num-heads", "4", "--no-tensors");
        assertThat(bf16.exitCode()).as(bf16.err()).isZero();
    }

    /** Every way a malicious pickle might be handed over: as published, renamed, and as a model directory's weights. */
    @ParameterizedTest
    @ValueSource(strings = {"plain_system", "zip_mixed"})
    void maliciousPicklesNeverRun(String name) throws IOException {
        Path marker = Path.of("/tmp/vit-pwned-" + name);
        Files.deleteIfExists(marker);
        Path original = formats("malicious").resolve(name + ".pth");
        for (String ext : new String[] {".pth", ".bin", ".ckpt", ".pt", ".npz", ".safetensors", ""}) {
            Path copy = tmp.resolve(name + ext);
            Files.copy(original, copy);
            for (Cli r : new Cli[] {Cli.run("inspect", copy.toString(), "--num-heads", "4"),
                Cli.run("convert", copy.toString(), tmp.resolve("c" + ext + ".safetensors").toString(),
                        "--num-heads", "4")}) {
                assertThat(r.exitCode()).as(r.err()).isIn(0, 1);
                if (r.exitCode() == 1) {
                    assertThat(r.oneLineError()).as(r.err()).isTrue();
                }
            }
        }
        Path dir = Files.createDirectories(tmp.resolve("repo-" + name));
        Files.copy(original, dir.resolve("pytorch_model.bin"));
        Cli r = Cli.run("run", "--model", dir.toString(), "--num-heads", "4", "--input",
                Golden.dir("timm_tiny").resolve("input.safetensors").toString(), "--output",
                tmp.resolve("m.safetensors").toString());
        assertThat(r.exitCode()).isIn(0, 1);
        assertThat(marker).doesNotExist();
    }

    @Test
    void maliciousZipLoadsItsTensorsAndKeepsTheCallInert() {
        Cli r = Cli.run("inspect", formats("malicious").resolve("zip_mixed.pth").toString(), "--num-heads", "4",
                "--no-tensors");
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(r.out()).contains("posix.system", "never imported or called",
                "head.extra (a call to posix.system, never made)");
        Cli plain = Cli.run("inspect", formats("malicious").resolve("plain_system.pth").toString());
        assertThat(plain.exitCode()).isEqualTo(1);
        assertThat(plain.err()).contains("a bare pickle, not a torch.save zip archive");
    }
}
