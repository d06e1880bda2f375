package dev.vitjava.image;

import dev.vitjava.VitException;

/**
 * The geometric steps of torchvision, timm and Hugging Face eval pipelines on PIL images, with their exact size
 * arithmetic. All resizing goes through {@link PilResize}, as theirs goes through PIL.
 */
public final class Transforms {

    private Transforms() {
    }

    /** The (height, width) torchvision's {@code _compute_resized_output_size} gives for a single size. */
    public static int[] shortestEdgeSize(int h, int w, int size, int maxSize) {
        if (size <= 0) {
            throw new IllegalArgumentException("resize size must be positive, got " + size);
        }
        int shortSide = Math.min(w, h);
        int longSide = Math.max(w, h);
        int newShort = size;
        int newLong = (int) ((double) ((long) size * longSide) / shortSide);
        if (maxSize > 0) {
            if (maxSize <= size) {
                throw new IllegalArgumentException("max size " + maxSize + " must be greater than the short-side "
                        + "size " + size);
            }
            if (newLong > maxSize) {
                newShort = (int) ((double) ((long) maxSize * newShort) / newLong);
                newLong = maxSize;
            }
        }
        return w <= h ? new int[] {newLong, newShort} : new int[] {newShort, newLong};
    }

    /**
     * timm's {@code ResizeKeepRatio}: scale both sides by one ratio, the smaller of the two side ratios
     * ({@code longest = 0}, fits the short side) or the larger ({@code longest = 1}, fits the long side), with
     * Python's round-half-to-even.
     */
    public static int[] keepRatioSize(int h, int w, int targetH, int targetW, double longest) {
        double ratioH = (double) h / targetH;
        double ratioW = (double) w / targetW;
        double ratio = Math.max(ratioH, ratioW) * longest + Math.min(ratioH, ratioW) * (1.0 - longest);
        return new int[] {(int) Math.rint(h * 1.0 / ratio), (int) Math.rint(w * 1.0 / ratio)};
    }

    /**
     * torchvision {@code CenterCrop((h, w))} (and timm's {@code CenterCropOrPad}): offsets
     * {@code int(round((H - h) / 2.0))} with Python's half-to-even rounding; a side smaller than the crop is first
     * padded with {@code fill}, {@code (h - H) // 2} before and the rest after.
     */
    public static DecodedImage centerCrop(DecodedImage img, int h, int w, int[] fill) {
        int top = img.height() >= h ? (int) Math.rint((img.height() - h) / 2.0) : -((h - img.height()) / 2);
        int left = img.width() >= w ? (int) Math.rint((img.width() - w) / 2.0) : -((w - img.width()) / 2);
        return crop(img, top, left, h, w, fill);
    }

    /**
     * Hugging Face {@code center_crop}: offsets {@code (H - h) // 2} (floor, unlike torchvision's rounding);
     * a side smaller than the crop is zero-padded with the image at {@code (h - H) // 2}.
     */
    public static DecodedImage centerCropFloor(DecodedImage img, int h, int w, int[] fill) {
        int top = img.height() >= h ? (img.height() - h) / 2 : -((h - img.height()) / 2);
        int left = img.width() >= w ? (img.width() - w) / 2 : -((w - img.width()) / 2);
        return crop(img, top, left, h, w, fill);
    }

    /**
     * PIL's {@code crop((left, top, left + w, top + h))}: the region may stick out of the image, where it takes
     * {@code fill} (one value per channel, or null for zeros).
     */
    public static DecodedImage crop(DecodedImage img, int top, int left, int h, int w, int[] fill) {
        if (h <= 0 || w <= 0) {
            throw new IllegalArgumentException("crop size must be positive, got " + w + "x" + h);
        }
        if (top == 0 && left == 0 && h == img.height() && w == img.width()) {
            return img;
        }
        int c = img.channels();
        if ((long) h * w * c > ImageDecoder.DEFAULT_MAX_PIXELS * 3) {
            throw new VitException("crop of " + w + "x" + h + " exceeds the pixel limit of "
                    + ImageDecoder.DEFAULT_MAX_PIXELS);
        }
        byte[] src = img.pixels();
        byte[] out = new byte[h * w * c];
        if (fill != null) {
            for (int i = 0; i < h * w; i++) {
                for (int b = 0; b < c; b++) {
                    out[i * c + b] = (byte) fill[Math.min(b, fill.length - 1)];
                }
            }
        }
        int x0 = Math.max(0, -left);
        int x1 = Math.min(w, img.width() - left);
        if (x1 > x0) {
            for (int y = 0; y < h; y++) {
                int sy = y + top;
                if (sy < 0 || sy >= img.height()) {
                    continue;
                }
                System.arraycopy(src, (sy * img.width() + left + x0) * c, out, (y * w + x0) * c, (x1 - x0) * c);
            }
        }
        return new DecodedImage(w, h, img.mode(), out);
    }
}
