package dev.vitjava.render;

import java.awt.image.BufferedImage;

/** An RGB picture being composed: 0xRRGGBB per pixel, rows top to bottom. */
public final class Canvas {

    private final int width;
    private final int height;
    private final int[] rgb;

    public Canvas(int width, int height, int background) {
        if (width <= 0 || height <= 0 || (long) width * height > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("bad canvas size " + width + "x" + height);
        }
        this.width = width;
        this.height = height;
        this.rgb = new int[width * height];
        java.util.Arrays.fill(rgb, background);
    }

    public int width() {
        return width;
    }

    public int height() {
        return height;
    }

    public int get(int x, int y) {
        return rgb[y * width + x];
    }

    public void set(int x, int y, int color) {
        rgb[y * width + x] = color;
    }

    /** Copies {@code src} with its top-left corner at (x, y), clipped to this canvas. */
    public void draw(Canvas src, int x, int y) {
        for (int sy = Math.max(0, -y); sy < src.height && y + sy < height; sy++) {
            int x0 = Math.max(0, -x);
            int n = Math.min(src.width, width - x) - x0;
            if (n > 0) {
                System.arraycopy(src.rgb, sy * src.width + x0, rgb, (y + sy) * width + x + x0, n);
            }
        }
    }

    /** Draws {@code text} in the 5×7 bitmap font, each font pixel {@code scale}² pixels, top-left at (x, y). */
    public void text(String text, int x, int y, int scale, int color) {
        for (int i = 0; i < text.length(); i++) {
            int cx = x + i * Glyphs.ADVANCE * scale;
            for (int gy = 0; gy < Glyphs.HEIGHT; gy++) {
                for (int gx = 0; gx < Glyphs.WIDTH; gx++) {
                    if (Glyphs.pixel(text.charAt(i), gx, gy)) {
                        fill(cx + gx * scale, y + gy * scale, scale, scale, color);
                    }
                }
            }
        }
    }

    /** Draws {@code text} centred horizontally on {@code centerX}. */
    public void textCentered(String text, int centerX, int y, int scale, int color) {
        text(text, centerX - textWidth(text, scale) / 2, y, scale, color);
    }

    public static int textWidth(String text, int scale) {
        return Glyphs.width(text, scale);
    }

    public static int textHeight(int scale) {
        return Glyphs.HEIGHT * scale;
    }

    /** Fills a rectangle, clipped to the canvas. */
    public void fill(int x, int y, int w, int h, int color) {
        for (int yy = Math.max(0, y); yy < Math.min(height, y + h); yy++) {
            for (int xx = Math.max(0, x); xx < Math.min(width, x + w); xx++) {
                rgb[yy * width + xx] = color;
            }
        }
    }

    public BufferedImage toImage() {
        BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        image.setRGB(0, 0, width, height, rgb, 0, width);
        return image;
    }
}
