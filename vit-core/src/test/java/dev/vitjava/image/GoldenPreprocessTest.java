package dev.vitjava.image;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vitjava.checkpoint.PreprocessingReader;
import dev.vitjava.checkpoint.Safetensors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Bit-exact against tensors made with PIL 9.4 + torchvision 0.14 (the shared golden set, copied into resources). */
class GoldenPreprocessTest {

    private static Safetensors f32;
    private static Safetensors u8;

    @BeforeAll
    static void open() {
        f32 = Safetensors.open(TestData.resource("preprocess.safetensors"));
        u8 = Safetensors.open(TestData.resource("preprocess_u8.safetensors"));
    }

    @AfterAll
    static void close() {
        f32.close();
        u8.close();
    }

    private static DecodedImage decode(String image) {
        return new ImageDecoder().decodeRgb(TestData.resource(image + ".png"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"chelsea", "coffee"})
    void decodesLikePil(String image) {
        DecodedImage img = decode(image);
        int[] shape = u8.entry(image + ".decoded_rgb").shape();
        assertThat(new int[] {img.height(), img.width(), img.channels()}).containsExactly(shape);
        assertThat(TestData.diff(TestData.u8(u8, image + ".decoded_rgb"), img.pixels())).isNull();
    }

    @ParameterizedTest
    @ValueSource(strings = {"chelsea", "coffee"})
    void imagenetBicubic256Crop224(String image) {
        Preprocessing p = PreprocessingReader.timm(TestData.json(
                "{\"input_size\": [3, 224, 224], \"interpolation\": \"bicubic\", \"crop_pct\": 0.875,"
                        + " \"mean\": [0.485, 0.456, 0.406], \"std\": [0.229, 0.224, 0.225]}"));
        DecodedImage img = decode(image);
        assertThat(TestData.diff(TestData.u8(u8, image + ".imagenet_resized_cropped_rgb"),
                p.resizeAndCrop(img).pixels())).isNull();
        assertThat(TestData.diff(TestData.f32(f32, image + ".imagenet_bicubic256_crop224"), p.apply(img))).isNull();
        // timm's defaults and torchvision's preset with bicubic are the same pipeline
        assertThat(PreprocessingReader.timm(null)).isEqualTo(p);
        assertThat(TestData.diff(TestData.f32(f32, image + ".imagenet_bicubic256_crop224"),
                Preprocessing.torchvision().withInterpolation(Interpolation.BICUBIC).apply(img))).isNull();
    }

    @ParameterizedTest
    @ValueSource(strings = {"chelsea", "coffee"})
    void huggingFaceVitDefaults(String image) {
        Preprocessing p = PreprocessingReader.huggingFace(null);
        DecodedImage img = decode(image);
        assertThat(TestData.diff(TestData.u8(u8, image + ".hf_resized_rgb"), p.resizeAndCrop(img).pixels())).isNull();
        assertThat(TestData.diff(TestData.f32(f32, image + ".hf_bilinear224_half"), p.apply(img))).isNull();
        var t = p.toTensor(img);
        assertThat(t.shape()).containsExactly(3, 224, 224);
        // the same from an explicit preprocessor_config.json
        Preprocessing explicit = PreprocessingReader.fromConfig(TestData.json("{\"do_normalize\": true, \"do_rescale\": true,"
                + " \"do_resize\": true, \"image_mean\": [0.5, 0.5, 0.5], \"image_processor_type\":"
                + " \"ViTImageProcessor\", \"image_std\": [0.5, 0.5, 0.5], \"resample\": 2, \"rescale_factor\":"
                + " 0.00392156862745098, \"size\": {\"height\": 224, \"width\": 224}}"));
        assertThat(TestData.diff(TestData.f32(f32, image + ".hf_bilinear224_half"), explicit.apply(img))).isNull();
    }
}
