package dev.vitjava.render;

import dev.vitjava.image.DecodedImage;

/** Heat maps as pictures: a patch-grid map blended over the image it came from, or a matrix of values. */
public final class Heatmaps {

    /**
     * Opacity of the colour where the map is at its maximum; it falls linearly to 0 where the map is 0, so the
     * picture is the input image there. 0.75 keeps the hottest patches readable on black and on white images.
     */
    public static final double MAX_ALPHA = 0.75;

    private Heatmaps() {
    }

    /**
     * Blends a (gh, gw) map, divided by its maximum, over {@code base}, at {@code width} × {@code height}: the base
     * image sampled at the nearest pixel (an integer upscale repeats pixels exactly), the map bilinearly upsampled
     * as {@code F.interpolate(mode='bilinear', align_corners=False)} does, coloured with viridis.
     *
     * @param map values ≥ 0 from {@code map[offset]}, row-major; a map that is all 0 leaves the base unchanged
     */
    public static Canvas overlay(DecodedImage base, float[] map, int offset, int gh, int gw, int width,
            int height) {
        double max = 0;
        for (int i = 0; i < gh * gw; i++) {
            max = Math.max(max, map[offset + i]);
        }
        double scale = max > 0 ? 1 / max : 0;
        Canvas out = new Canvas(width, height, 0);
        int channels = base.channels();
        byte[] px = base.pixels();
        for (int y = 0; y < height; y++) {
            int by = Math.min(base.height() - 1, (int) ((y + 0.5) * base.height() / height));
            double v = Math.max(0, (y + 0.5) * gh / height - 0.5);
            int y0 = Math.min((int) v, gh - 1);
            int y1 = Math.min(y0 + 1, gh - 1);
            double fy = Math.min(v - y0, 1);
            for (int x = 0; x < width; x++) {
                int bx = Math.min(base.width() - 1, (int) ((x + 0.5) * base.width() / width));
                double u = Math.max(0, (x + 0.5) * gw / width - 0.5);
                int x0 = Math.min((int) u, gw - 1);
                int x1 = Math.min(x0 + 1, gw - 1);
                double fx = Math.min(u - x0, 1);
                double m = scale * ((1 - fy) * ((1 - fx) * map[offset + y0 * gw + x0] + fx * map[offset + y0 * gw + x1])
                        + fy * ((1 - fx) * map[offset + y1 * gw + x0] + fx * map[offset + y1 * gw + x1]));
                int p = (by * base.width() + bx) * channels;
                int r = px[p] & 0xff;
                int g = channels == 1 ? r : px[p + 1] & 0xff;
                int b = channels == 1 ? r : px[p + 2] & 0xff;
                out.set(x, y, m > 0 ? blend(r, g, b, Colormap.viridis(m), MAX_ALPHA * m) : r << 16 | g << 8 | b);
            }
        }
        return out;
    }

    private static int blend(int r, int g, int b, int color, double alpha) {
        int cr = color >> 16 & 0xff;
        int cg = color >> 8 & 0xff;
        int cb = color & 0xff;
        return mix(r, cr, alpha) << 16 | mix(g, cg, alpha) << 8 | mix(b, cb, alpha);
    }

    private static int mix(int a, int b, double alpha) {
        return (int) Math.round(a + alpha * (b - a));
    }

    /**
     * A (rows, cols) matrix from {@code values[offset]}, each value a {@code cell} × {@code cell} square coloured
     * with viridis on the scale [lo, hi].
     */
    public static Canvas matrix(float[] values, int offset, int rows, int cols, double lo, double hi, int cell) {
        Canvas out = new Canvas(cols * cell, rows * cell, 0);
        double range = hi > lo ? hi - lo : 1;
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                out.fill(c * cell, r * cell, cell, cell,
                        Colormap.viridis((values[offset + r * cols + c] - lo) / range));
            }
        }
        return out;
    }
}
