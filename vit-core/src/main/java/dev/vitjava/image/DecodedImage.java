package dev.vitjava.image;

import java.util.Arrays;

/**
 * An 8-bit image in PIL's layout: rows top to bottom, pixels left to right, channels interleaved (RGB) or a single
 * luma channel (L). This is what {@code np.array(pil_image)} holds, so tests can compare it byte for byte.
 * The pixel array is shared, not copied: treat it as read-only.
 */
public final class DecodedImage {

    private final int width;
    private final int height;
    private final ColorMode mode;
    private final byte[] pixels;

    public DecodedImage(int width, int height, ColorMode mode, byte[] pixels) {
        if (width <= 0 || height <= 0) {
            throw new IllegalArgumentException("image size must be positive, got " + width + "x" + height);
        }
        if ((long) width * height * mode.channels() != pixels.length) {
            throw new IllegalArgumentException(width + "x" + height + " " + mode + " needs "
                    + (long) width * height * mode.channels() + " bytes, got " + pixels.length);
        }
        this.width = width;
        this.height = height;
        this.mode = mode;
        this.pixels = pixels;
    }

    public int width() {
        return width;
    }

    public int height() {
        return height;
    }

    public ColorMode mode() {
        return mode;
    }

    public int channels() {
        return mode.channels();
    }

    /** The backing array (HWC, unsigned bytes); not a copy. */
    public byte[] pixels() {
        return pixels;
    }

    /** One sample, 0..255. */
    public int get(int x, int y, int channel) {
        return pixels[(y * width + x) * mode.channels() + channel] & 0xff;
    }

    /** This image in another mode, converted as PIL's {@code Image.convert} does; the same instance if it matches. */
    public DecodedImage convert(ColorMode target) {
        if (target == mode) {
            return this;
        }
        int n = width * height;
        byte[] out = new byte[n * target.channels()];
        if (target == ColorMode.L) {
            for (int i = 0, j = 0; i < n; i++, j += 3) {
                out[i] = (byte) luma(pixels[j] & 0xff, pixels[j + 1] & 0xff, pixels[j + 2] & 0xff);
            }
        } else {
            for (int i = 0, j = 0; i < n; i++, j += 3) {
                out[j] = out[j + 1] = out[j + 2] = pixels[i];
            }
        }
        return new DecodedImage(width, height, target, out);
    }

    /** PIL's ITU-R 601-2 luma in 16-bit fixed point ({@code L24} in libImaging/Convert.c). */
    static int luma(int r, int g, int b) {
        return (r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof DecodedImage d && d.width == width && d.height == height && d.mode == mode
                && Arrays.equals(d.pixels, pixels);
    }

    @Override
    public int hashCode() {
        return (width * 31 + height) * 31 + mode.hashCode();
    }

    @Override
    public String toString() {
        return "DecodedImage[" + width + "x" + height + " " + mode + "]";
    }
}
