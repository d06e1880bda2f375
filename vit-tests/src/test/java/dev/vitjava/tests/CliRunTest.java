package dev.vitjava.tests;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vitjava.checkpoint.SafetensorsWriter;
import dev.vitjava.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** `vit run` and `vit inspect` end to end, and the one-line errors for bad input. */
class CliRunTest {

    @TempDir
    Path tmp;

    private static String golden(String name, String file) {
        return Golden.dir(name).resolve(file).toString();
    }

    @Test
    void runWritesLogitsAndTraceMatchingPyTorch() {
        Path out = tmp.resolve("out.safetensors");
        Cli r = Cli.run("run", "--model", golden("hf_tiny", ""), "--input", golden("hf_tiny", "input.safetensors"),
                "--output", out.toString(), "--trace", "--backend", "reference");
        assertThat(r.exitCode()).as(r.err()).isZero();
        Map<String, Tensor> actual = Golden.read(out);
        Map<String, Tensor> expected = Golden.read(Golden.dir("hf_tiny").resolve("output.safetensors"));
        assertThat(actual.keySet()).startsWith("logits", "pre_logits")
                .contains("embed", "block0_attn", "block1_attn", "block1_out", "tokens_normed");
        for (String key : new String[] {"logits", "pre_logits", "embed", "block0_attn", "block0_out", "tokens_normed"}) {
            assertThat(Golden.maxAbsDiff(actual.get(key), expected.get(key))).as(key).isLessThan(1e-5);
        }
    }

    @Test
    void runResizedInputAndBareCheckpointWithHeads() {
        Path out = tmp.resolve("resized.safetensors");
        String name = "timm_tiny_resize_48x48";
        Cli r = Cli.run("run", "--model", golden(name, "model.safetensors"), "--num-heads", "4",
                "--input", golden(name, "input.safetensors"), "--input-key", "pixel_values_b1",
                "--output", out.toString(), "--trace");
        assertThat(r.exitCode()).as(r.err()).isZero();
        Map<String, Tensor> expected = Golden.read(Golden.dir(name).resolve("output.safetensors"));
        Map<String, Tensor> actual = Golden.read(out);
        assertThat(Golden.maxAbsDiff(actual.get("logits"), expected.get("logits_b1"))).isLessThan(1e-5);
        assertThat(Golden.maxAbsDiff(actual.get("pos_embed_resized"), expected.get("pos_embed_resized")))
                .isLessThan(1e-5);
    }

    @Test
    void inspectDescribesEveryNaming() {
        Cli timm = Cli.run("inspect", golden("timm_tiny", "model.safetensors"), "--num-heads", "4");
        assertThat(timm.exitCode()).as(timm.err()).isZero();
        assertThat(timm.out()).contains("naming        timm", "embed_dim     64", "num_heads     4",
                "blocks.0.attn.qkv.weight");
        Cli hf = Cli.run("inspect", golden("hf_tiny", ""));
        assertThat(hf.out()).contains("naming        huggingface", "layer norm    eps 1.0E-12",
                "vit.encoder.layer.0.attention.attention.query.weight");
        Cli tv = Cli.run("inspect", golden("tv_tiny", "model.safetensors"), "--num-heads", "4", "--no-tensors");
        assertThat(tv.out()).contains("naming        torchvision", "mlp hidden    256").doesNotContain("conv_proj");
        Cli demo = Cli.run("inspect");
        assertThat(demo.out()).contains("parameters    678,730", "T-shirt/top");
    }

    @Test
    void versionAndHelp() {
        assertThat(Cli.run("--version").out()).startsWith("vit ");
        for (String cmd : new String[] {"run", "inspect"}) {
            Cli help = Cli.run(cmd, "--help");
            assertThat(help.exitCode()).isZero();
            assertThat(help.out()).contains("Usage: vit " + cmd);
        }
    }

    @Test
    void badInputsGiveOneLineErrors() throws IOException {
        String model = golden("timm_tiny", "model.safetensors");
        Path truncated = tmp.resolve("truncated.safetensors");
        byte[] bytes = Files.readAllBytes(Path.of(model));
        Files.write(truncated, Arrays.copyOf(bytes, bytes.length / 2));
        Path text = tmp.resolve("notes.safetensors");
        Files.writeString(text, "these are not tensors, just some text that is long enough");
        Path gray = tmp.resolve("gray.safetensors");
        SafetensorsWriter.write(gray, Map.of("pixel_values", Tensor.of(new float[32 * 32], 1, 1, 32, 32)), Map.of());
        Path odd = tmp.resolve("odd.safetensors");
        SafetensorsWriter.write(odd, Map.of("pixel_values", Tensor.of(new float[3 * 30 * 32], 1, 3, 30, 32)), Map.of());
        Path huge = tmp.resolve("huge.safetensors");
        SafetensorsWriter.write(huge, Map.of("pixel_values", Tensor.of(new float[3 * 2048 * 2048], 1, 3, 2048, 2048)),
                Map.of());
        Path rank3 = tmp.resolve("rank3.safetensors");
        SafetensorsWriter.write(rank3, Map.of("pixel_values", Tensor.of(new float[3 * 32 * 32], 3, 32, 32)), Map.of());
        String out = tmp.resolve("o.safetensors").toString();
        String input = golden("timm_tiny", "input.safetensors");

        expectError(new String[] {"run", "--model", truncated.toString(), "--num-heads", "4", "--input", input,
            "--output", out}, truncated.toString(), "out of range");
        expectError(new String[] {"run", "--model", text.toString(), "--input", input, "--output", out},
                text.toString(), "header length");
        expectError(new String[] {"run", "--model", model, "--num-heads", "4", "--input", gray.toString(),
            "--output", out}, gray.toString(), "1 channels");
        expectError(new String[] {"run", "--model", model, "--num-heads", "4", "--input", odd.toString(),
            "--output", out}, odd.toString(), "not a multiple of the patch size 8");
        expectError(new String[] {"run", "--model", model, "--num-heads", "4", "--input", huge.toString(),
            "--output", out, "--trace"}, huge.toString(), "too many for the attention maps");
        expectError(new String[] {"run", "--model", model, "--num-heads", "4", "--input", rank3.toString(),
            "--output", out}, rank3.toString(), "expected 4 dimensions");
        expectError(new String[] {"run", "--model", model, "--num-heads", "4", "--input", input,
            "--input-key", "nope", "--output", out}, input, "no tensor 'nope'");
        expectError(new String[] {"run", "--model", model, "--num-heads", "4", "--input", input, "--output", out,
            "--backend", "quantum"}, "", "unknown backend 'quantum'");
        expectError(new String[] {"run", "--model", tmp.resolve("absent").toString(), "--input", input,
            "--output", out}, "absent", "no such model");

        Cli badOption = Cli.run("run", "--input", input, "--output", out, "--frobnicate");
        assertThat(badOption.exitCode()).isEqualTo(2);
        assertThat(badOption.err()).contains("Unknown option: '--frobnicate'").doesNotContain("Exception");
    }

    private static void expectError(String[] args, String file, String problem) {
        Cli r = Cli.run(args);
        assertThat(r.exitCode()).as(String.join(" ", args)).isEqualTo(1);
        assertThat(r.oneLineError()).as("one-line error, got: %s", r.err()).isTrue();
        assertThat(r.err()).contains(file).contains(problem);
    }
}
