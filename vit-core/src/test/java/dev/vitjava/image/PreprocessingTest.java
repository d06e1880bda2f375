package dev.vitjava.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.vitjava.VitException;
import dev.vitjava.checkpoint.Naming;
import dev.vitjava.checkpoint.PreprocessingReader;
import dev.vitjava.checkpoint.Safetensors;
import dev.vitjava.tensor.Tensor;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * Whole pipelines against timm 1.0 / torchvision 0.14 / transformers eval transforms on PIL 9.4 (reproduced in
 * {@code generator/generate.py}): odd sizes, upscaling, every filter, grayscale and RGBA and CMYK sources, L models,
 * squash and border crop modes, non-square inputs, crops larger than the image.
 */
class PreprocessingTest {

    @TestFactory
    Stream<DynamicTest> configuredPipelinesMatch() {
        List<DynamicTest> tests = new ArrayList<>();
        try (Safetensors st = TestData.expected()) {
            JsonNode pipes = TestData.metadata(st, "pipes");
            for (Iterator<String> it = pipes.fieldNames(); it.hasNext(); ) {
                String name = it.next();
                JsonNode c = pipes.get(name);
                float[] expected = TestData.f32(st, "pipe." + name);
                int[] shape = st.entry("pipe." + name).shape();
                tests.add(DynamicTest.dynamicTest(name, () -> {
                    Preprocessing p = c.get("kind").asText().equals("timm")
                            ? PreprocessingReader.timm(c.get("cfg")) : PreprocessingReader.huggingFace(c.get("cfg"));
                    Tensor t = p.load(TestData.format(c.get("src").asText()));
                    assertThat(t.shape()).containsExactly(shape);
                    assertThat(TestData.diff(expected, t.toArray())).isNull();
                }));
            }
            assertThat(tests).hasSizeGreaterThanOrEqualTo(14);
        }
        return tests.stream();
    }

    @Test
    void torchvisionPresetAtAnotherSize() {
        Preprocessing p = Preprocessing.torchvision().withImageSize(28, 28); // Resize(32) + CenterCrop(28)
        assertThat(p.resize()).isEqualTo(Preprocessing.Resize.shortestEdge(32));
        assertThat(p.crop().height()).isEqualTo(28);
        try (Safetensors st = TestData.expected()) {
            assertThat(TestData.diff(TestData.f32(st, "pipe.torchvision_28"),
                    p.apply(new ImageDecoder().decode(TestData.format("tiny.png"))))).isNull();
        }
    }

    @Test
    void centerCropLargerThanImagePadsWithZeros() {
        Preprocessing p = new Preprocessing(ColorMode.RGB, Preprocessing.Resize.none(), Interpolation.BILINEAR,
                Preprocessing.Crop.center(40, 50), Preprocessing.Rescale.toTensor(), new float[] {0, 0, 0},
                new float[] {1, 1, 1}, Double.NaN);
        Preprocessing both = p.withCrop(Preprocessing.Crop.center(76, 34));
        try (Safetensors st = TestData.expected()) {
            assertThat(TestData.diff(TestData.f32(st, "pipe.crop_pad"),
                    p.apply(new ImageDecoder().decode(TestData.format("rgb.png"))))).isNull();
            assertThat(TestData.diff(TestData.f32(st, "pipe.crop_pad_both"),
                    both.apply(new ImageDecoder().decode(TestData.format("tall.png"))))).isNull();
        }
    }

    @Test
    void torchvisionSizeArithmetic() {
        // short side to 256, long side int(256 * long / short): truncation, not rounding
        assertThat(Transforms.shortestEdgeSize(300, 451, 256, 0)).containsExactly(256, 384);
        assertThat(Transforms.shortestEdgeSize(451, 300, 256, 0)).containsExactly(384, 256);
        assertThat(Transforms.shortestEdgeSize(3, 1000, 256, 0)).containsExactly(256, 85333);
        assertThat(Transforms.shortestEdgeSize(100, 100, 33, 0)).containsExactly(33, 33);
        // max_size caps the long side and scales the short side by int(max * short / long)
        assertThat(Transforms.shortestEdgeSize(100, 400, 50, 150)).containsExactly(37, 150);
        // center-crop offsets round half to even: (H - h) / 2 = 3.5 -> 4, 2.5 -> 2
        DecodedImage img = new DecodedImage(5, 9, ColorMode.L, new byte[] {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
                13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38,
                39, 40, 41, 42, 43, 44});
        DecodedImage c = Transforms.centerCrop(img, 2, 2, null);
        assertThat(c.get(0, 0, 0)).isEqualTo(4 * 5 + 2); // top 3.5 -> 4, left 1.5 -> 2
        DecodedImage c2 = Transforms.centerCrop(img, 4, 2, null);
        assertThat(c2.get(0, 0, 0)).isEqualTo(2 * 5 + 2); // top 2.5 -> 2
        // Hugging Face floors instead
        assertThat(Transforms.centerCropFloor(img, 2, 2, null).get(0, 0, 0)).isEqualTo(3 * 5 + 1);
        // timm ResizeKeepRatio rounds half to even too
        assertThat(Transforms.keepRatioSize(400, 600, 54, 73, 0.0)).containsExactly(54, 81);
    }

    @Test
    void huggingFaceRescaleEqualsToTensorForOneOver255() {
        Preprocessing.Rescale hf = Preprocessing.Rescale.multiply(0.00392156862745098);
        Preprocessing.Rescale tv = Preprocessing.Rescale.toTensor();
        for (int u = 0; u < 256; u++) {
            assertThat(Float.floatToRawIntBits(hf.apply(u))).as("u=%d", u)
                    .isEqualTo(Float.floatToRawIntBits(tv.apply(u)));
        }
    }

    @Test
    void timmConfigFields() {
        JsonNode hub = TestData.json("{\"architecture\": \"vit_base_patch16_384\", \"num_classes\": 1000,"
                + " \"pretrained_cfg\": {\"input_size\": [3, 384, 384], \"interpolation\": \"bicubic\","
                + " \"crop_pct\": 1.0, \"crop_mode\": \"squash\", \"mean\": [0.5, 0.5, 0.5], \"std\": [0.5, 0.5, 0.5]}}");
        Preprocessing p = PreprocessingReader.fromConfig(hub);
        assertThat(p).isEqualTo(PreprocessingReader.timm(hub.get("pretrained_cfg")));
        assertThat(p.resize()).isEqualTo(Preprocessing.Resize.exact(384, 384));
        assertThat(p.outputHeight()).isEqualTo(384);
        assertThat(p.mean()).containsExactly(0.5f, 0.5f, 0.5f);
        assertThat(p.interpolation()).isEqualTo(Interpolation.BICUBIC);

        Preprocessing center = PreprocessingReader.timm(TestData.json("{\"input_size\": [3, 224, 224], \"crop_pct\": 0.9}"));
        assertThat(center.resize()).isEqualTo(Preprocessing.Resize.shortestEdge(248)); // floor(224 / 0.9)
        assertThat(center.mean()).containsExactly(0.485f, 0.456f, 0.406f);
        assertThat(center.withImageSize(384, 384).resize()).isEqualTo(Preprocessing.Resize.shortestEdge(426));
        assertThat(center.withCropPct(1.0).resize()).isEqualTo(Preprocessing.Resize.shortestEdge(224));
        assertThat(center.withCropPct(0.95).cropPct()).isEqualTo(0.95);
        // non-square: timm's ResizeKeepRatio, which it builds without the configured interpolation
        Preprocessing wide = center.withImageSize(224, 320);
        assertThat(wide.resize().kind()).isEqualTo(Preprocessing.Resize.Kind.KEEP_RATIO);
        assertThat(wide.resize().height()).isEqualTo(248);
        assertThat(wide.resize().width()).isEqualTo(355);
        Preprocessing gray = PreprocessingReader.timm(TestData.json("{\"input_size\": [1, 32, 32], \"mean\": [0.5],"
                + " \"std\": [0.5]}"));
        assertThat(gray.mode()).isEqualTo(ColorMode.L);
        assertThat(PreprocessingReader.timm(null).interpolation()).isEqualTo(Interpolation.BICUBIC);
        assertThat(PreprocessingReader.timm(null).cropPct()).isEqualTo(0.875);
    }

    @Test
    void huggingFaceConfigFields() {
        Preprocessing deit = PreprocessingReader.huggingFace(TestData.json("{\"do_center_crop\": true, \"crop_size\":"
                + " {\"height\": 224, \"width\": 224}, \"do_resize\": true, \"size\": {\"height\": 256, \"width\": 256},"
                + " \"resample\": 3, \"image_mean\": [0.485, 0.456, 0.406], \"image_std\": [0.229, 0.224, 0.225]}"));
        assertThat(deit.resize()).isEqualTo(Preprocessing.Resize.exact(256, 256));
        assertThat(deit.crop().floorOffsets()).isTrue();
        assertThat(deit.interpolation()).isEqualTo(Interpolation.BICUBIC);
        assertThat(deit.outputHeight()).isEqualTo(224);
        Preprocessing bigger = deit.withImageSize(384, 384);
        assertThat(bigger.resize()).isEqualTo(Preprocessing.Resize.exact(439, 439));
        assertThat(bigger.outputWidth()).isEqualTo(384);

        Preprocessing legacy = PreprocessingReader.huggingFace(TestData.json("{\"size\": 384, \"image_mean\": 0.5,"
                + " \"image_std\": 0.5}"));
        assertThat(legacy.resize()).isEqualTo(Preprocessing.Resize.exact(384, 384));
        assertThat(legacy.std()).containsExactly(0.5f, 0.5f, 0.5f);
        Preprocessing shortest = PreprocessingReader.huggingFace(TestData.json("{\"size\": {\"shortest_edge\": 224,"
                + " \"longest_edge\": 300}}"));
        assertThat(shortest.resize()).isEqualTo(Preprocessing.Resize.shortestEdge(224, 300));
        assertThat(shortest.outputHeight()).isEqualTo(-1);
        assertThat(shortest.withImageSize(224, 224).outputHeight()).isEqualTo(224);
        Preprocessing raw = PreprocessingReader.huggingFace(TestData.json("{\"do_rescale\": false, \"do_normalize\": false}"));
        assertThat(raw.mean()).isNull();
        assertThat(raw.rescale().kind()).isEqualTo(Preprocessing.Rescale.Kind.NONE);
        assertThat(PreprocessingReader.huggingFace(null).withImageSize(384, 384).resize())
                .isEqualTo(Preprocessing.Resize.exact(384, 384));
    }

    @Test
    void overrides() {
        Preprocessing p = Preprocessing.torchvision()
                .withInterpolation(Interpolation.BICUBIC)
                .withMean(0.5, 0.5, 0.5)
                .withStd(0.25);
        assertThat(p.interpolation()).isEqualTo(Interpolation.BICUBIC);
        assertThat(p.mean()).containsExactly(0.5f, 0.5f, 0.5f);
        assertThat(p.std()).containsExactly(0.25f, 0.25f, 0.25f);
        Preprocessing l = p.withMode(ColorMode.L);
        assertThat(l.mean()).containsExactly(0.5f);
        assertThat(l.toTensor(new ImageDecoder().decode(TestData.format("j420.jpg"))).shape())
                .containsExactly(1, 224, 224);
        assertThat(p.describe()).contains("RGB", "256", "bicubic", "224x224", "0.5");
        assertThatThrownBy(() -> p.withMean(0.1, 0.2)).isInstanceOf(VitException.class)
                .hasMessageContaining("mean has 2 values");
        assertThatThrownBy(() -> p.withCropPct(0)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void forModelPicksTheConfigThenTheNamingDefault() {
        JsonNode hfCfg = TestData.json("{\"size\": {\"height\": 384, \"width\": 384}}");
        assertThat(PreprocessingReader.forModel(Naming.HUGGING_FACE, 224, 224, 3, null, hfCfg).outputHeight()).isEqualTo(384);
        JsonNode timmHub = TestData.json("{\"pretrained_cfg\": {\"input_size\": [3, 32, 32], \"crop_pct\": 0.9}}");
        assertThat(PreprocessingReader.forModel(Naming.TIMM, 32, 32, 3, timmHub, null))
                .isEqualTo(PreprocessingReader.timm(timmHub));
        // no config: the naming's default at the model's size, in the model's colour mode
        Preprocessing tv = PreprocessingReader.forModel(Naming.TORCHVISION, 32, 32, 1, null, null);
        assertThat(tv.mode()).isEqualTo(ColorMode.L);
        assertThat(tv.outputHeight()).isEqualTo(32);
        assertThat(tv.resize()).isEqualTo(Preprocessing.Resize.shortestEdge(36)); // floor(32 / 0.875)
        assertThat(PreprocessingReader.forModel(Naming.HUGGING_FACE, 48, 48, 3, null, null).resize())
                .isEqualTo(Preprocessing.Resize.exact(48, 48));
        assertThat(PreprocessingReader.forModel(Naming.TIMM, 224, 224, 3, null, null)).isEqualTo(PreprocessingReader.timm(null));
    }

    @Test
    void badConfigsAreOneLineErrors() {
        assertThatThrownBy(() -> PreprocessingReader.timm(TestData.json("{\"input_size\": [3, 224]}")))
                .isInstanceOf(VitException.class).hasMessageContaining("input_size");
        assertThatThrownBy(() -> PreprocessingReader.timm(TestData.json("{\"interpolation\": \"area\"}")))
                .isInstanceOf(VitException.class).hasMessageContaining("area");
        assertThatThrownBy(() -> PreprocessingReader.timm(TestData.json("{\"crop_mode\": \"zoom\"}")))
                .isInstanceOf(VitException.class).hasMessageContaining("zoom");
        assertThatThrownBy(() -> PreprocessingReader.timm(TestData.json("{\"input_size\": [4, 224, 224]}")))
                .isInstanceOf(VitException.class).hasMessageContaining("4 channels");
        assertThatThrownBy(() -> PreprocessingReader.huggingFace(TestData.json("{\"resample\": 9}")))
                .isInstanceOf(VitException.class).hasMessageContaining("resample");
        assertThatThrownBy(() -> PreprocessingReader.huggingFace(TestData.json("{\"size\": {\"longest_edge\": 9}}")))
                .isInstanceOf(VitException.class).hasMessageContaining("size");
        assertThatThrownBy(() -> PreprocessingReader.fromConfig(TestData.json("{\"hidden_size\": 768}")))
                .isInstanceOf(VitException.class).hasMessageContaining("neither");
    }
}
