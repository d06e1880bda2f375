package dev.vitjava.tests;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vitjava.checkpoint.SafetensorsWriter;
import dev.vitjava.engine.Backends;
import dev.vitjava.engine.EngineOptions;
import dev.vitjava.engine.InferenceEngine;
import dev.vitjava.engine.TraceRequest;
import dev.vitjava.explain.AttentionMaps;
import dev.vitjava.explain.HeadFusion;
import dev.vitjava.image.ColorMode;
import dev.vitjava.image.DecodedImage;
import dev.vitjava.image.ImageDecoder;
import dev.vitjava.tensor.Tensor;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.ToDoubleFunction;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/**
 * `vit attention` on the demo model against PyTorch (timm's explicit attention path in float64,
 * golden/attention: two Fashion-MNIST test images), and its pictures decoded back.
 */
class AttentionTest {

    static final Path GOLDEN = Golden.dir("attention");
    static final List<String> IMAGES = List.of("test05000", "test05001");

    @TempDir
    Path tmp;

    private Cli attention(String... args) {
        String[] all = new String[args.length + 1];
        all[0] = "attention";
        System.arraycopy(args, 0, all, 1, args.length);
        return Cli.run(all);
    }

    @ParameterizedTest
    @ValueSource(strings = {"reference", "cpu"})
    void mapsMatchPyTorch(String backend) throws IOException {
        assertMapsMatchPyTorch(backend, tmp.resolve(backend), key -> 1e-5);
    }

    /**
     * Runs {@code vit attention --blocks all} on the two golden images with {@code backend} and compares every map
     * with PyTorch's float64 ones within {@code tolerance.applyAsDouble(key)}.
     */
    static void assertMapsMatchPyTorch(String backend, Path out, ToDoubleFunction<String> tolerance)
            throws IOException {
        Cli r = Cli.run("attention", "--backend", backend, "--format", "json", "--blocks", "all", "-o",
                out.toString(), GOLDEN.resolve("images/test05000.png").toString(),
                GOLDEN.resolve("images/test05001.png").toString());
        assertThat(r.exitCode()).as(r.err()).isZero();
        List<String> lines = r.out().lines().toList();
        assertThat(lines).hasSize(2);
        for (int i = 0; i < 2; i++) {
            String image = IMAGES.get(i);
            JsonNode line = new ObjectMapper().readTree(lines.get(i));
            assertThat(line.get("file").asText()).endsWith(image + ".png");
            assertThat(line.get("outputs").get("maps").asText()).isEqualTo(out.resolve(image).resolve("maps.safetensors")
                    .toString());
            Map<String, Tensor> got = Golden.read(out.resolve(image).resolve("maps.safetensors"));
            Map<String, Tensor> want = Golden.read(GOLDEN.resolve(image + "_f64.safetensors"));
            Golden.assertTraceClose(new TreeMap<>(got), new TreeMap<>(want), tolerance, backend + " " + image);
            // the printed ranking is the logits' softmax
            Tensor logits = got.get("logits");
            int best = 0;
            for (int c = 1; c < logits.size(); c++) {
                best = logits.get(c) > logits.get(best) ? c : best;
            }
            assertThat(line.get("top").get(0).get("index").asInt()).isEqualTo(best);
            for (int b = 0; b < 6; b++) {
                assertThat(line.get("outputs").get("block" + b).asText()).endsWith("block" + b + ".png");
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"reference", "cpu"})
    void goldenCasesMatchPyTorch(String backend) {
        assertGoldenCasesMatchPyTorch(backend, key -> 1e-5);
    }

    /**
     * The maps of the golden cases' batch-1 inputs (timm and torchvision namings, and the resized-input case)
     * against {@code attention_f64.safetensors} (float64 PyTorch, {@code golden/generate_attention.py}).
     */
    static void assertGoldenCasesMatchPyTorch(String backend, ToDoubleFunction<String> tolerance) {
        for (String name : List.of("timm_tiny", "tv_tiny", "timm_tiny_resize_48x48")) {
            var model = Golden.load(name).model();
            Tensor pixels = Golden.read(Golden.dir(name).resolve("input.safetensors")).get("pixel_values_b1");
            int p = model.config().patchSize();
            AttentionMaps maps = new AttentionMaps(model.config(), pixels.dim(2) / p, pixels.dim(3) / p,
                    HeadFusion.MEAN, 0, -1);
            try (InferenceEngine engine = Backends.create(backend, model, EngineOptions.defaults())) {
                engine.forward(pixels, maps.request());
            }
            Map<String, Tensor> want = Golden.read(Golden.dir(name).resolve("attention_f64.safetensors"));
            Golden.assertTraceClose(new TreeMap<>(maps.tensors()), new TreeMap<>(want), tolerance,
                    backend + " " + name);
        }
    }

    /** A streaming request receives the wanted tensors in forward order, block by block, and the result keeps none. */
    @ParameterizedTest
    @ValueSource(strings = {"reference", "cpu"})
    void aStreamingTraceArrivesBlockByBlock(String backend) {
        var model = Golden.load("timm_tiny").model();
        Tensor pixels = Golden.read(Golden.dir("timm_tiny").resolve("input.safetensors")).get("pixel_values");
        List<String> arrived = new java.util.ArrayList<>();
        TraceRequest request = TraceRequest.streaming(key -> !key.endsWith("_out"), (key, t) -> arrived.add(key));
        try (InferenceEngine engine = Backends.create(backend, model, EngineOptions.defaults())) {
            assertThat(engine.forward(pixels, request).trace()).isEmpty();
        }
        assertThat(arrived).containsExactly("embed", "block0_q", "block0_k", "block0_attn", "block1_q", "block1_k",
                "block1_attn", "tokens_normed", "pre_logits", "logits");
    }

    @Test
    void picturesShowTheMaps() throws IOException {
        Path image = GOLDEN.resolve("images/test05000.png");
        Cli r = attention("--heads", "0,2", "-o", tmp.toString(), image.toString());
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(r.out()).contains("test05000.png: ").contains(" -> " + tmp.resolve("test05000"));
        Path dir = tmp.resolve("test05000");
        try (var files = Files.list(dir)) {
            assertThat(files.map(p -> p.getFileName().toString()).sorted()).containsExactly("block5.png", "grid.png",
                    "maps.safetensors", "qk_head0.png", "qk_head2.png", "rollout.png");
        }
        Map<String, Tensor> maps = Golden.read(dir.resolve("maps.safetensors"));
        Tensor rollout = maps.get("rollout");
        assertThat(rollout.shape()).containsExactly(7, 7);

        // rollout.png: the 28x28 input enlarged 8 times; where the map is 0 the picture is the input
        BufferedImage png = ImageIO.read(dir.resolve("rollout.png").toFile());
        assertThat(png.getWidth()).isEqualTo(224);
        assertThat(png.getHeight()).isEqualTo(224);
        DecodedImage input = new ImageDecoder().decode(image, ColorMode.L);
        // on a gray input, (R + G) / 2 - B is 0 and grows towards viridis's yellow: the hottest patch (32x32
        // pixels here) of the map must be the hottest region of the picture
        int hottest = 0;
        for (int p = 1; p < rollout.size(); p++) {
            hottest = rollout.get(p) > rollout.get(hottest) ? p : hottest;
        }
        int best = -1;
        double bestHeat = Double.NEGATIVE_INFINITY;
        for (int p = 0; p < 49; p++) {
            double heat = 0;
            for (int y = 0; y < 32; y++) {
                for (int x = 0; x < 32; x++) {
                    int c = png.getRGB(p % 7 * 32 + x, p / 7 * 32 + y);
                    heat += ((c >> 16 & 0xff) + (c >> 8 & 0xff)) / 2.0 - (c & 0xff);
                }
            }
            if (heat > bestHeat) {
                bestHeat = heat;
                best = p;
            }
        }
        assertThat(best).isEqualTo(hottest);
        assertThat(input.width()).isEqualTo(28);

        // block5.png: two labelled panels of 224; grid.png: 6 blocks x 3 heads of 84-pixel cells; qk: T = 50 rows
        BufferedImage block = ImageIO.read(dir.resolve("block5.png").toFile());
        assertThat(block.getWidth()).isGreaterThan(2 * 224).isLessThan(2 * 224 + 40);
        BufferedImage grid = ImageIO.read(dir.resolve("grid.png").toFile());
        assertThat(grid.getWidth()).isGreaterThan(3 * 84).isLessThan(3 * 84 + 60);
        assertThat(grid.getHeight()).isGreaterThan(6 * 84).isLessThan(6 * 84 + 60);
        BufferedImage qk = ImageIO.read(dir.resolve("qk_head0.png").toFile());
        assertThat(qk.getHeight()).isGreaterThanOrEqualTo(50 * 8);
    }

    @Test
    void rgbaAndGrayInputsAreDrawnOnTheirPreprocessedImage() throws IOException {
        // an RGBA picture on the 1-channel demo model: decoded, flattened to L as the model sees it
        BufferedImage rgba = new BufferedImage(40, 30, BufferedImage.TYPE_INT_ARGB);
        for (int y = 0; y < 30; y++) {
            for (int x = 0; x < 40; x++) {
                rgba.setRGB(x, y, (x * 6) << 24 | 0xff8000);
            }
        }
        Path file = tmp.resolve("alpha.png");
        ImageIO.write(rgba, "png", file.toFile());
        Cli r = attention("-o", tmp.resolve("out").toString(), file.toString());
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(ImageIO.read(tmp.resolve("out/alpha/rollout.png").toFile()).getWidth()).isEqualTo(224);

        // a grayscale picture on a 3-channel model (golden timm_tiny, 32 pixels: enlarged 7 times)
        r = attention("--model", Golden.dir("timm_tiny").resolve("model.safetensors").toString(), "--num-heads", "4",
                "-o", tmp.resolve("rgb").toString(), GOLDEN.resolve("images/test05000.png").toString());
        assertThat(r.exitCode()).as(r.err()).isZero();
        BufferedImage rollout = ImageIO.read(tmp.resolve("rgb/test05000/rollout.png").toFile());
        assertThat(rollout.getWidth()).isEqualTo(224);
        assertThat(Golden.read(tmp.resolve("rgb/test05000/maps.safetensors")).get("cls_attn").shape())
                .containsExactly(2, 4, 4, 4);
    }

    @Test
    void badOptionsNameTheOptionAndTheValidRange() throws IOException {
        Path image = GOLDEN.resolve("images/test05000.png");
        Cli r = attention("--blocks", "99", "-o", tmp.toString(), image.toString());
        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.err()).contains("--blocks").contains("99").contains("0-5");
        r = attention("--heads", "7", "-o", tmp.toString(), image.toString());
        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.err()).contains("--heads").contains("7").contains("0-2");
        r = attention("--heads", "x", "-o", tmp.toString(), image.toString());
        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.err()).contains("--heads");
        r = attention("--discard-ratio", "1.5", "-o", tmp.toString(), image.toString());
        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.err()).contains("--discard-ratio").contains("[0, 1)");
        r = attention("--head-fusion", "median", "-o", tmp.toString(), image.toString());
        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.err()).contains("--head-fusion");

        Path file = tmp.resolve("a-file");
        Files.writeString(file, "x");
        r = attention("-o", file.resolve("sub").toString(), image.toString());
        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.oneLineError()).as(r.err()).isTrue();
        assertThat(r.err()).contains("--output-dir");
    }

    @Test
    void aModelWithoutAClassTokenIsRefused() throws IOException {
        // the golden timm_tiny weights without cls_token and its pos_embed row, pooled by the mean: fc_norm in
        // place of the final norm, as timm lays out such a model
        Map<String, Tensor> w = new LinkedHashMap<>(Golden.read(Golden.dir("timm_tiny").resolve("model.safetensors")));
        w.remove("cls_token");
        w.remove("norm.weight");
        w.remove("norm.bias");
        Tensor pos = w.get("pos_embed");
        int d = pos.dim(2);
        float[] rows = new float[(pos.dim(1) - 1) * d];
        pos.data().get(d, rows, 0, rows.length);
        w.put("pos_embed", Tensor.of(rows, 1, pos.dim(1) - 1, d));
        float[] ones = new float[d];
        java.util.Arrays.fill(ones, 1);
        w.put("fc_norm.weight", Tensor.of(ones, d));
        w.put("fc_norm.bias", Tensor.of(new float[d], d));
        Path model = tmp.resolve("avg.safetensors");
        SafetensorsWriter.write(model, w, Map.of());
        Path image = GOLDEN.resolve("images/test05000.png");
        Cli r = attention("--model", model.toString(), "--num-heads", "4", "-o", tmp.resolve("o").toString(),
                image.toString());
        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.oneLineError()).as(r.err()).isTrue();
        assertThat(r.err()).contains("--model").contains("no class token");
        assertThat(tmp.resolve("o")).doesNotExist();
    }
}
