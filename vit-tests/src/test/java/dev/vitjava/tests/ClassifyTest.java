package dev.vitjava.tests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vitjava.image.ColorMode;
import dev.vitjava.image.ImageDecoder;
import dev.vitjava.tensor.Tensor;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * `vit classify`, `vit eval` and `vit preprocess` end to end on the bundled demo model and the shipped samples,
 * against PyTorch's reference top-3 (demo-model/reference/samples.json) and golden preprocessing tensors.
 */
class ClassifyTest {

    static final Path SAMPLES = Path.of("..", "samples");
    static final Path FASHION_MNIST_TEST = Path.of("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz");

    @TempDir
    Path tmp;

    static JsonNode reference() throws IOException {
        try (var in = ClassifyTest.class.getResourceAsStream("/demo/samples.json")) {
            return new ObjectMapper().readTree(in);
        }
    }

    @Test
    void preprocessedSamplesEqualPyTorchsPixelsAndLogits() throws IOException {
        Map<String, Tensor> ref = Golden.read(Path.of(ClassifyTest.class.getResource("/demo/samples_logits.safetensors")
                .getPath()));
        Tensor pixels = ref.get("pixel_values");
        List<Path> files = Files.list(SAMPLES).sorted().toList();
        ImageDecoder decoder = new ImageDecoder();
        for (int i = 0; i < files.size(); i++) {
            byte[] u8 = decoder.decode(files.get(i), ColorMode.L).pixels();
            for (int p = 0; p < 28 * 28; p++) {
                float expected = pixels.get(i * 784 + p);
                float actual = ((u8[p] & 0xff) / 255f - 0.286f) / 0.353f;
                assertThat(actual).as("%s pixel %d", files.get(i), p).isEqualTo(expected);
            }
        }
        Path out = tmp.resolve("logits.safetensors");
        Path in = tmp.resolve("pixels.safetensors");
        dev.vitjava.checkpoint.SafetensorsWriter.write(in, Map.of("pixel_values", pixels), Map.of());
        Cli r = Cli.run("run", "--input", in.toString(), "--output", out.toString());
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(Golden.maxAbsDiff(Golden.read(out).get("logits"), ref.get("logits"))).isLessThan(1e-5);
    }

    @Test
    void textAndCsvFormatsAndBadFiles() throws IOException {
        Path bad = tmp.resolve("broken.png");
        Files.writeString(bad, "not an image");
        Path good = SAMPLES.resolve("0000-ankle-boot.png");

        Cli text = Cli.run("classify", "-k", "2", good.toString(), bad.toString(), SAMPLES.resolve("0001-pullover.png").toString());
        assertThat(text.exitCode()).as("a failed file makes the exit code 1").isEqualTo(1);
        assertThat(text.out().lines().toList()).containsExactly(
                good + ": Ankle boot 0.7325 | Sneaker 0.1758",
                SAMPLES.resolve("0001-pullover.png") + ": Pullover 0.8985 | Shirt 0.0244");
        assertThat(text.oneLineError()).as(text.err()).isTrue();
        assertThat(text.err()).contains(bad.toString());

        Cli csv = Cli.run("classify", "-k", "2", "--format", "csv", good.toString());
        assertThat(csv.out().lines().toList()).hasSize(3).first().isEqualTo("file,rank,index,label,prob");
        assertThat(csv.out().lines().toList().get(1)).startsWith(good + ",1,9,Ankle boot,0.73253");
    }

    @Test
    void badOptionsAreOneLineErrors() {
        String sample = SAMPLES.resolve("0000-ankle-boot.png").toString();
        // bad option values: CommandLineTest.everyUsageErrorExitsWithTwoOnOneLine
        for (String[] args : List.of(
                new String[] {"classify", "--max-pixels", "100", sample},
                new String[] {"classify", tmp.resolve("missing.png").toString()},
                new String[] {"eval", tmp.toString()})) {
            Cli r = Cli.run(args);
            assertThat(r.exitCode()).as(String.join(" ", args)).isNotZero();
            assertThat(r.oneLineError()).as("%s -> %s", String.join(" ", args), r.err()).isTrue();
        }
        assertThat(Cli.run("classify", "--max-pixels", "100", sample).err()).contains("pixels");
    }

    /** Writes the samples as an IDX images/labels pair (gzipped), the Fashion-MNIST format. */
    private Path idxFromSamples() throws IOException {
        List<Path> files = Files.list(SAMPLES).sorted().toList();
        JsonNode ref = reference();
        ByteBuffer images = ByteBuffer.allocate(16 + files.size() * 784).putInt(0x803).putInt(files.size())
                .putInt(28).putInt(28);
        ByteBuffer labels = ByteBuffer.allocate(8 + files.size()).putInt(0x801).putInt(files.size());
        ImageDecoder decoder = new ImageDecoder();
        for (Path f : files) {
            images.put(decoder.decode(f, ColorMode.L).pixels());
            labels.put((byte) ref.get(f.getFileName().toString()).get("label").asInt());
        }
        Path imagesFile = tmp.resolve("samples-images-idx3-ubyte.gz");
        try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(imagesFile))) {
            out.write(images.array());
        }
        Files.write(tmp.resolve("samples-labels-idx1-ubyte"), labels.array());
        return imagesFile;
    }

    @Test
    void evalOnIdxAndImageFolder() throws IOException {
        Path idx = idxFromSamples();
        Path preds = tmp.resolve("preds.csv");
        Cli r = Cli.run("eval", "--format", "json", "--confusion", "--predictions", preds.toString(), idx.toString());
        assertThat(r.exitCode()).as(r.err()).isZero();
        JsonNode report = new ObjectMapper().readTree(r.out());
        assertThat(report.get("count").asInt()).isEqualTo(30);
        assertThat(report.get("top1_correct").asInt()).as("PyTorch misclassifies 3 of the 30").isEqualTo(27);
        assertThat(report.get("top5").asDouble()).isBetween(0.9, 1.0);
        assertThat(report.get("confusion")).hasSize(10);
        List<String> rows = Files.readAllLines(preds);
        assertThat(rows).hasSize(31).first().isEqualTo("index,label,pred,prob");
        assertThat(rows).filteredOn(row -> row.matches("\\d+,9,5,.*")).as("0023 ankle boot -> Sandal").hasSize(1);

        Path folder = tmp.resolve("folder");
        for (Map.Entry<String, JsonNode> e : reference().properties()) {
            Path dir = Files.createDirectories(folder.resolve(String.format("%d-%s", e.getValue().get("label").asInt(),
                    e.getValue().get("label_name").asText().replace('/', '_'))));
            Files.copy(SAMPLES.resolve(e.getKey()), dir.resolve(e.getKey()));
        }
        Cli text = Cli.run("eval", folder.toString());
        assertThat(text.exitCode()).as(text.err()).isZero();
        assertThat(text.out()).contains("top-1    90.00 % (27/30)", "9-Ankle boot");
    }

    @Test
    void evalReproducesPyTorchOnTheFashionMnistTestSet() {
        assumeThat(Files.isRegularFile(FASHION_MNIST_TEST)).as("Debian package dataset-fashion-mnist").isTrue();
        Cli r = Cli.run("eval", "--format", "json", "-q", FASHION_MNIST_TEST.toString());
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(r.out()).contains("\"count\":10000").contains("\"top1_correct\":8938");
    }

    @Test
    void preprocessIsBitExactWithTorchvision() throws IOException {
        Path resources = Path.of("..", "vit-core", "src", "test", "resources", "image");
        Path out = tmp.resolve("chelsea.safetensors");
        Cli r = Cli.run("preprocess", "--preset", "timm", "--img-size", "224", "--crop-pct", "0.875",
                "--interpolation", "bicubic", "--mean", "0.485,0.456,0.406", "--std", "0.229,0.224,0.225",
                resources.resolve("chelsea.png").toString(), "--output", out.toString());
        assertThat(r.exitCode()).as(r.err()).isZero();
        Tensor actual = Golden.read(out).get("pixel_values");
        Tensor expected = Golden.read(resources.resolve("preprocess.safetensors")).get("chelsea.imagenet_bicubic256_crop224");
        assertThat(actual.shape()).containsExactly(1, 3, 224, 224);
        assertThat(actual.toArray()).containsExactly(expected.toArray());

        Cli hf = Cli.run("preprocess", "--preset", "hf", resources.resolve("coffee.png").toString(),
                "--output", out.toString());
        assertThat(hf.exitCode()).as(hf.err()).isZero();
        assertThat(Golden.read(out).get("pixel_values").toArray()).containsExactly(
                Golden.read(resources.resolve("preprocess.safetensors")).get("coffee.hf_bilinear224_half").toArray());
    }
}
