package dev.vitjava.render;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vitjava.image.ColorMode;
import dev.vitjava.image.DecodedImage;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HeatmapsTest {

    private static DecodedImage gray(int w, int h, long seed) {
        byte[] px = new byte[w * h];
        new Random(seed).nextBytes(px);
        for (int i = 0; i < px.length; i++) {
            px[i] = (byte) (px[i] & 0x7f | 0x20); // grays 32..159
        }
        return new DecodedImage(w, h, ColorMode.L, px);
    }

    private static DecodedImage flat(int w, int h, int value) {
        byte[] px = new byte[w * h * 3];
        java.util.Arrays.fill(px, (byte) value);
        return new DecodedImage(w, h, ColorMode.RGB, px);
    }

    private static int r(int c) {
        return c >> 16 & 0xff;
    }

    private static int g(int c) {
        return c >> 8 & 0xff;
    }

    private static int b(int c) {
        return c & 0xff;
    }

    @Test
    void theOverlayIsTheInputWhereTheMapIsZero() {
        int gh = 4;
        int gw = 5;
        DecodedImage base = gray(20, 16, 1);
        float[] map = new float[gh * gw];
        map[gw - 1] = 1; // only the top-right patch is hot
        Canvas out = Heatmaps.overlay(base, map, 0, gh, gw, 40, 32); // 2x enlargement
        assertThat(out.width()).isEqualTo(40);
        assertThat(out.height()).isEqualTo(32);
        // bilinear upsampling spreads the hot patch by half a patch (4 pixels here): the left half and the bottom
        // half are untouched, pixel for pixel the (repeated) input
        for (int y = 0; y < 32; y++) {
            for (int x = 0; x < 40; x++) {
                if (x < 20 || y >= 16) {
                    int v = base.get(x / 2, y / 2, 0);
                    assertThat(out.get(x, y)).as("(%d, %d)", x, y).isEqualTo(v << 16 | v << 8 | v);
                }
            }
        }
        assertThat(out.get(36, 3)).isNotEqualTo(base.get(18, 1, 0) * 0x010101);
    }

    @Test
    void theHottestPatchIsTheHottestRegionOfThePicture() {
        Random rnd = new Random(7);
        int gh = 6;
        int gw = 6;
        for (int trial = 0; trial < 20; trial++) {
            float[] map = new float[gh * gw];
            int hottest = 0;
            for (int i = 0; i < map.length; i++) {
                map[i] = rnd.nextFloat();
                hottest = map[i] > map[hottest] ? i : hottest;
            }
            map[hottest] += 0.2f;
            DecodedImage base = gray(24, 24, trial);
            Canvas out = Heatmaps.overlay(base, map, 0, gh, gw, 96, 96);
            // on a gray input, (R + G) / 2 - B is 0 before blending and grows with viridis towards yellow
            int best = -1;
            double bestHeat = Double.NEGATIVE_INFINITY;
            for (int p = 0; p < gh * gw; p++) {
                double heat = 0;
                for (int y = 0; y < 16; y++) {
                    for (int x = 0; x < 16; x++) {
                        int c = out.get(p % gw * 16 + x, p / gw * 16 + y);
                        heat += (r(c) + g(c)) / 2.0 - b(c);
                    }
                }
                if (heat > bestHeat) {
                    bestHeat = heat;
                    best = p;
                }
            }
            assertThat(best).as("trial %d", trial).isEqualTo(hottest);
        }
    }

    @Test
    void theHotPatchStandsOutOnBlackAndOnWhite() {
        float[] map = {0, 0, 0, 1};
        for (int value : new int[] {0, 255}) {
            Canvas out = Heatmaps.overlay(flat(16, 16, value), map, 0, 2, 2, 16, 16);
            int c = out.get(14, 14);
            double distance = Math.sqrt(Math.pow(r(c) - value, 2) + Math.pow(g(c) - value, 2)
                    + Math.pow(b(c) - value, 2));
            assertThat(distance).as("colour distance from the %d input", value).isGreaterThan(150);
            assertThat(out.get(1, 1)).isEqualTo(value * 0x010101);
        }
    }

    @Test
    void aMatrixColoursEachValueOnItsScale() {
        Canvas m = Heatmaps.matrix(new float[] {0, 1, 2, 4}, 0, 2, 2, 0, 4, 3);
        assertThat(m.width()).isEqualTo(6);
        assertThat(m.get(0, 0)).isEqualTo(Colormap.viridis(0));
        assertThat(m.get(5, 5)).isEqualTo(Colormap.viridis(1));
        assertThat(m.get(4, 1)).isEqualTo(Colormap.viridis(0.25));
        assertThat(Colormap.viridis(0)).isEqualTo(0x440154);
        assertThat(Colormap.viridis(1)).isEqualTo(0xfde725);
        assertThat(Colormap.viridis(Double.NaN)).isEqualTo(0x440154);
    }

    @Test
    void labelsAreDrawnInTheBitmapFont() {
        Canvas c = new Canvas(80, 20, 0);
        c.text("HEAD 10", 2, 2, 2, 0xffffff);
        int lit = 0;
        int maxX = 0;
        for (int y = 0; y < 20; y++) {
            for (int x = 0; x < 80; x++) {
                if (c.get(x, y) != 0) {
                    lit++;
                    maxX = Math.max(maxX, x);
                }
            }
        }
        assertThat(lit).isGreaterThan(100);
        assertThat(maxX).isLessThan(2 + Canvas.textWidth("HEAD 10", 2));
        // 'H' has its two full columns: left column set on every row of the glyph, middle column only on row 3
        assertThat(Glyphs.pixel('h', 0, 0)).isTrue();
        assertThat(Glyphs.pixel('H', 2, 0)).isFalse();
        assertThat(Glyphs.pixel('H', 2, 3)).isTrue();
    }

    @Test
    void pngRoundTrip(@TempDir Path dir) throws Exception {
        Canvas c = Heatmaps.overlay(gray(8, 8, 3), new float[] {0.1f, 0.5f, 0.2f, 1f}, 0, 2, 2, 16, 16);
        Path file = dir.resolve("x.png");
        Png.write(c, file);
        BufferedImage back = ImageIO.read(file.toFile());
        assertThat(back.getWidth()).isEqualTo(16);
        for (int y = 0; y < 16; y++) {
            for (int x = 0; x < 16; x++) {
                assertThat(back.getRGB(x, y) & 0xffffff).isEqualTo(c.get(x, y));
            }
        }
        try (var files = Files.list(dir)) {
            assertThat(files.map(p -> p.getFileName().toString())).containsExactly("x.png");
        }
        // an output file gets the permissions of any new file, not a temporary file's owner-only ones
        Path plain = Files.createFile(dir.resolve("plain"));
        assertThat(Files.getPosixFilePermissions(file)).isEqualTo(Files.getPosixFilePermissions(plain));
    }
}
