package dev.vitjava.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.vitjava.checkpoint.Safetensors;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * {@code Image.resize} against PIL 9.4 outputs: every filter; down, up, mixed, to 1x1, and with one side unchanged
 * (53x5 from 53 wide and 7x23 from 23 high, where PIL skips a pass); RGB and L.
 */
class PilResizeTest {

    @TestFactory
    Stream<DynamicTest> matchesPil() {
        List<DynamicTest> tests = new ArrayList<>();
        Map<String, DecodedImage> sources = new HashMap<>();
        try (Safetensors st = TestData.expected()) {
            JsonNode cases = TestData.metadata(st, "resize");
            assertThat(cases.size()).isEqualTo(72);
            for (JsonNode c : cases) {
                String key = c.asText();                    // resize.<src>.<w>x<h>.<filter>
                String[] parts = key.split("\\.");
                String src = parts[1] + "." + parts[2];
                String[] wh = parts[3].split("x");
                Interpolation f = Interpolation.parse(parts[4]);
                byte[] expected = TestData.u8(st, key);
                DecodedImage img = sources.computeIfAbsent(src, s -> new ImageDecoder().decode(TestData.format(s)));
                int w = Integer.parseInt(wh[0]);
                int h = Integer.parseInt(wh[1]);
                tests.add(DynamicTest.dynamicTest(key, () -> {
                    DecodedImage out = PilResize.resize(img, w, h, f);
                    assertThat(out.width()).isEqualTo(w);
                    assertThat(out.height()).isEqualTo(h);
                    assertThat(out.mode()).isEqualTo(img.mode());
                    assertThat(TestData.diff(expected, out.pixels())).isNull();
                }));
            }
        }
        return tests.stream();
    }

    @Test
    void sameSizeIsTheImageItself() {
        DecodedImage img = new ImageDecoder().decode(TestData.format("noise_rgb.png"));
        for (Interpolation f : Interpolation.values()) {
            assertThat(PilResize.resize(img, img.width(), img.height(), f)).isSameAs(img);
        }
    }

    @Test
    void rejectsEmptyTargets() {
        DecodedImage img = new ImageDecoder().decode(TestData.format("noise_l.png"));
        assertThatThrownBy(() -> PilResize.resize(img, 0, 5, Interpolation.BILINEAR))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void interpolationCodesAndNames() {
        assertThat(Interpolation.fromPilCode(3)).isEqualTo(Interpolation.BICUBIC);
        assertThat(Interpolation.fromPilCode(2)).isEqualTo(Interpolation.BILINEAR);
        assertThat(Interpolation.fromPilCode(0)).isEqualTo(Interpolation.NEAREST);
        assertThat(Interpolation.parse("Bicubic")).isEqualTo(Interpolation.BICUBIC);
        assertThat(Interpolation.LANCZOS.pilCode()).isEqualTo(1);
        assertThatThrownBy(() -> Interpolation.parse("area")).hasMessageContaining("unknown interpolation 'area'");
        assertThatThrownBy(() -> Interpolation.fromPilCode(7)).hasMessageContaining("7");
    }
}
