package dev.vitjava.tests;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vitjava.checkpoint.Safetensors;
import dev.vitjava.tensor.Tensor;
import java.awt.image.BufferedImage;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** `vit finetune` end to end: PyTorch's command-level case, resuming, and the one-line errors for bad input. */
class FinetuneTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    private static Path shared(String file) {
        return Golden.dir("train/ft_shared_sgd").resolve(file);
    }

    /** The options of golden train/ft_shared_sgd (its meta.json "cli"), on the bundled demo model. */
    private static String[] sharedSgd(Path out, String... more) {
        List<String> args = new java.util.ArrayList<>(List.of("finetune", "--train",
                shared("train-images-idx3-ubyte.gz").toString(), "--output", out.toString(), "--freeze-blocks", "5",
                "--batch", "8", "--epochs", "1", "--optimizer", "sgd", "--lr", "0.1", "--momentum", "0.9",
                "--weight-decay", "1e-4", "--no-shuffle", "--log-every", "1", "-q"));
        for (int i = 0; i < more.length; i++) {
            int at = args.indexOf(more[i]);
            boolean flag = i + 1 == more.length || more[i + 1].startsWith("--");
            if (at >= 0 && !flag) {
                args.set(at + 1, more[++i]); // replaces the case's value
            } else {
                args.add(more[i]);
                if (!flag) {
                    args.add(more[++i]);
                }
            }
        }
        return args.toArray(String[]::new);
    }

    @Test
    void sharedSgdCaseReproducesPyTorchAndLeavesFrozenParametersBitIdentical() throws IOException {
        Path out = tmp.resolve("ft");
        Cli r = Cli.run(sharedSgd(out));
        assertThat(r.exitCode()).as(r.err()).isZero();
        JsonNode meta = JSON.readTree(shared("meta.json").toFile());
        List<String> log = Files.readAllLines(out.resolve("log.jsonl"));
        for (int s = 0; s < 2; s++) {
            assertThat(JSON.readTree(log.get(s)).get("loss").asDouble()).as("loss of step " + (s + 1))
                    .isCloseTo(meta.get("losses_f64").get(s).asDouble(), org.assertj.core.api.Assertions.within(1e-6));
        }
        Map<String, Tensor> actual = Golden.read(out.resolve("model.safetensors"));
        Map<String, Tensor> before = Golden.read(Path.of("../vit-cli/src/main/resources/dev/vitjava/cli/demo/"
                + "vit-fashion-mnist/model.safetensors"));
        try (Safetensors expected = Safetensors.open(shared("expected_f64.safetensors"))) {
            assertThat(actual.keySet()).containsExactlyInAnyOrderElementsOf(expected.entries().keySet());
            for (String name : expected.entries().keySet()) {
                ByteBuffer b = expected.bytes(name);
                Tensor a = actual.get(name);
                double err = 0;
                for (int i = 0; i < a.size(); i++) {
                    err = Math.max(err, Math.abs(a.get(i) - b.getDouble(8 * i)));
                }
                assertThat(err).as(name).isLessThan(1e-5);
                boolean trained = name.startsWith("blocks.5.") || name.startsWith("norm.") || name.startsWith("head.");
                if (!trained) {
                    assertThat(a.toArray()).as(name + " is frozen").containsExactly(before.get(name).toArray());
                }
            }
        }
        // the output is a model the other commands load, labels included
        Cli classify = Cli.run("classify", "--model", out.toString(), "-k", "1", "../samples/0000-ankle-boot.png");
        assertThat(classify.exitCode()).as(classify.err()).isZero();
        assertThat(classify.out()).contains("Ankle boot");
    }

    @Test
    void resumingAfterAnEpochGivesTheSameModelAsRunningStraightThrough() {
        String[] extra = {"--dropout", "0.1", "--drop-path", "0.2", "--seed", "5"};
        Path straight = tmp.resolve("straight");
        Cli a = Cli.run(sharedSgd(straight, concat(extra, "--epochs", "2")));
        assertThat(a.exitCode()).as(a.err()).isZero();
        Path resumed = tmp.resolve("resumed");
        Cli b = Cli.run(sharedSgd(resumed, extra));
        assertThat(b.exitCode()).as(b.err()).isZero();
        Cli c = Cli.run("finetune", "--resume", resumed.toString(), "--epochs", "2", "-q");
        assertThat(c.exitCode()).as(c.err()).isZero();
        assertThat(c.out()).contains("resuming", "after epoch 1");
        Map<String, Tensor> x = Golden.read(straight.resolve("model.safetensors"));
        Map<String, Tensor> y = Golden.read(resumed.resolve("model.safetensors"));
        for (String name : x.keySet()) {
            assertThat(y.get(name).toArray()).as(name).containsExactly(x.get(name).toArray());
        }
    }

    @Test
    void theFrozenFeatureCacheOnDiskChangesNothing() throws IOException {
        String[] two = {"--epochs", "2", "--optimizer", "adamw", "--lr", "1e-3", "--weight-decay", "0.05"};
        Path cached = tmp.resolve("cached");
        Cli a = Cli.run(sharedSgd(cached, concat(two, "--cache-memory", "0")));
        assertThat(a.exitCode()).as(a.err()).isZero();
        Path plain = tmp.resolve("plain");
        Cli b = Cli.run(sharedSgd(plain, concat(two, "--no-feature-cache")));
        assertThat(b.exitCode()).as(b.err()).isZero();
        List<String> log = Files.readAllLines(cached.resolve("log.jsonl"));
        assertThat(log.get(log.size() - 1)).contains("\"feature_cache\":true");
        Map<String, Tensor> x = Golden.read(cached.resolve("model.safetensors"));
        Map<String, Tensor> y = Golden.read(plain.resolve("model.safetensors"));
        for (String name : x.keySet()) {
            assertThat(x.get(name).toArray()).as(name).containsExactly(y.get(name).toArray());
        }
        try (var files = Files.list(cached)) {
            assertThat(files.map(f -> f.getFileName().toString())).as("scratch file removed")
                    .noneMatch(f -> f.startsWith(".features"));
        }
    }

    @Test
    void unfreezingAfterFreezeEpochsTrainsTheEmbeddingToo() throws IOException {
        Path out = tmp.resolve("unfrozen");
        Cli r = Cli.run(sharedSgd(out, "--epochs", "2", "--freeze-epochs", "1", "--lr", "0.01"));
        assertThat(r.exitCode()).as(r.err()).isZero();
        List<String> epochs = Files.readAllLines(out.resolve("log.jsonl")).stream()
                .filter(l -> l.contains("\"type\":\"epoch\"")).toList();
        assertThat(epochs).hasSize(2);
        assertThat(epochs.get(0)).contains("\"frozen_blocks\":5");
        assertThat(epochs.get(1)).contains("\"frozen_blocks\":0");
        Map<String, Tensor> before = Golden.read(Path.of("../vit-cli/src/main/resources/dev/vitjava/cli/demo/"
                + "vit-fashion-mnist/model.safetensors"));
        Map<String, Tensor> after = Golden.read(out.resolve("model.safetensors"));
        for (String name : List.of("patch_embed.proj.weight", "cls_token", "pos_embed", "blocks.0.attn.qkv.weight")) {
            assertThat(after.get(name).toArray()).as(name + " trained in epoch 2")
                    .isNotEqualTo(before.get(name).toArray());
        }
    }

    private static String[] concat(String[] a, String... b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    @Test
    void refusesAnOutputThatHoldsAModelUnlessOverwrite() {
        Path out = tmp.resolve("ft");
        assertThat(Cli.run(sharedSgd(out)).exitCode()).isZero();
        Cli again = Cli.run(sharedSgd(out));
        assertThat(again.exitCode()).isEqualTo(1);
        assertThat(again.oneLineError()).as(again.err()).isTrue();
        assertThat(again.err()).contains("already holds a model", "--overwrite");
        assertThat(Cli.run(sharedSgd(out, "--overwrite")).exitCode()).isZero();
    }

    @Test
    void stopsOnANonFiniteLossNamingTheStepAndLearningRate() {
        Cli r = Cli.run(sharedSgd(tmp.resolve("nan"), "--lr", "1e30"));
        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.oneLineError()).as(r.err()).isTrue();
        assertThat(r.err()).containsPattern("(loss|gradient) is (NaN|Infinity) at step 2 .*learning rate 1.0E30");
        assertThat(tmp.resolve("nan").resolve("model.safetensors")).doesNotExist();
    }

    @Test
    void refusesFreezingMoreBlocksThanTheModelHas() {
        Cli r = Cli.run(sharedSgd(tmp.resolve("deep"), "--freeze-blocks", "7"));
        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.oneLineError()).as(r.err()).isTrue();
        assertThat(r.err()).contains("--freeze-blocks 7", "depth 6");
    }

    @Test
    void refusesEmptyAndSingleClassTrainingSets() throws IOException {
        Path one = writeIdx(tmp.resolve("one-images-idx3-ubyte"), new int[] {3, 3, 3});
        Cli single = Cli.run("finetune", "--train", one.toString(), "--output", tmp.resolve("o1").toString());
        assertThat(single.exitCode()).isEqualTo(1);
        assertThat(single.oneLineError()).as(single.err()).isTrue();
        assertThat(single.err()).contains("single class", "Dress");
        Path none = writeIdx(tmp.resolve("none-images-idx3-ubyte"), new int[0]);
        Cli empty = Cli.run("finetune", "--train", none.toString(), "--output", tmp.resolve("o2").toString());
        assertThat(empty.exitCode()).isEqualTo(1);
        assertThat(empty.oneLineError()).as(empty.err()).isTrue();
        assertThat(empty.err()).contains("empty");
        assertThat(tmp.resolve("o1")).doesNotExist();
    }

    @Test
    void refusesValidationClassesThatTheTrainingSetLacks() throws IOException {
        Path trainDir = imageFolder(tmp.resolve("train"), "cat", "dog");
        Path valDir = imageFolder(tmp.resolve("val"), "cat", "emu");
        Cli r = Cli.run("finetune", "--train", trainDir.toString(), "--val", valDir.toString(), "--output",
                tmp.resolve("o").toString());
        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.oneLineError()).as(r.err()).isTrue();
        assertThat(r.err()).contains("'emu'", "not in the training set");
    }

    @Test
    void newClassesGetANewZeroHeadNamedAfterTheFolders() throws IOException {
        Path trainDir = imageFolder(tmp.resolve("train"), "cat", "dog", "emu");
        Path out = tmp.resolve("o");
        Cli r = Cli.run("finetune", "--train", trainDir.toString(), "--val", trainDir.toString(), "--output",
                out.toString(), "--freeze-blocks", "6", "--batch", "4", "-q");
        assertThat(r.exitCode()).as(r.err()).isZero();
        JsonNode config = JSON.readTree(out.resolve("config.json").toFile());
        assertThat(config.get("label_names").toString()).isEqualTo("[\"cat\",\"dog\",\"emu\"]");
        assertThat(config.get("num_classes").asInt()).isEqualTo(3);
        assertThat(Files.readAllLines(out.resolve("log.jsonl"))).singleElement()
                .satisfies(l -> assertThat(l).contains("\"val_top1\"", "\"frozen_blocks\":6"));
        try (Safetensors model = Safetensors.open(out.resolve("model.safetensors"))) {
            assertThat(model.entry("head.weight").shape()).containsExactly(3, 96);
        }
    }

    /** An ImageFolder tree with two small grayscale images per class. */
    private static Path imageFolder(Path root, String... classes) throws IOException {
        java.util.Random rnd = new java.util.Random(root.toString().length());
        for (String c : classes) {
            Files.createDirectories(root.resolve(c));
            for (int i = 0; i < 2; i++) {
                BufferedImage img = new BufferedImage(32, 30, BufferedImage.TYPE_BYTE_GRAY);
                for (int y = 0; y < 30; y++) {
                    for (int x = 0; x < 32; x++) {
                        img.getRaster().setSample(x, y, 0, rnd.nextInt(256));
                    }
                }
                ImageIO.write(img, "png", root.resolve(c).resolve(i + ".png").toFile());
            }
        }
        return root;
    }

    /** An IDX pair of 28x28 images with the given labels; returns the images file. */
    private static Path writeIdx(Path images, int[] labels) throws IOException {
        try (DataOutputStream out = new DataOutputStream(Files.newOutputStream(images))) {
            out.writeInt(0x0803);
            out.writeInt(labels.length);
            out.writeInt(28);
            out.writeInt(28);
            for (int i = 0; i < labels.length * 28 * 28; i++) {
                out.writeByte(i * 7 % 256);
            }
        }
        Path labelsFile = images.resolveSibling(images.getFileName().toString().replace("images-idx3", "labels-idx1"));
        try (OutputStream raw = Files.newOutputStream(labelsFile); DataOutputStream out = new DataOutputStream(raw)) {
            out.writeInt(0x0801);
            out.writeInt(labels.length);
            for (int l : labels) {
                out.writeByte(l);
            }
        }
        return images;
    }
}
