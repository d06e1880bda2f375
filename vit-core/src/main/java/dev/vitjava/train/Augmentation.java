package dev.vitjava.train;

import dev.vitjava.VitException;
import dev.vitjava.image.DecodedImage;
import dev.vitjava.image.PilResize;
import dev.vitjava.image.Preprocessing;
import dev.vitjava.image.Transforms;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Training-time image augmentation, seeded per (seed, epoch, sample) so that a run, and a resumed run, sees the
 * same images: {@code none} (the model's eval pipeline), {@code flip} (that, then a horizontal flip with
 * probability 0.5) or {@code crop-flip} (torchvision's {@code RandomResizedCrop(size)} with its defaults, scale
 * (0.08, 1) and ratio (3/4, 4/3), resized with the model's filter, then the flip). The random numbers are Java's,
 * not PyTorch's: the distribution is torchvision's, the draws are not.
 */
public record Augmentation(Kind kind, long seed) {

    public enum Kind {
        NONE, FLIP, CROP_FLIP;

        public static Kind parse(String s) {
            return switch (s.toLowerCase(Locale.ROOT)) {
                case "none" -> NONE;
                case "flip" -> FLIP;
                case "crop-flip" -> CROP_FLIP;
                default -> throw new VitException("unknown --augment '" + s + "' (choose none, flip or crop-flip)");
            };
        }
    }

    /** The model input (C, height, width) for a training image. */
    public float[] apply(DecodedImage image, Preprocessing pre, int height, int width, int epoch, int sample) {
        if (kind == Kind.NONE) {
            return pre.apply(image);
        }
        SplittableRandom rnd = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + epoch * 0xBF58476D1CE4E5B9L + sample);
        DecodedImage img;
        if (kind == Kind.CROP_FLIP) {
            DecodedImage src = image.convert(pre.mode());
            int[] box = randomResizedCrop(src.height(), src.width(), rnd);
            DecodedImage crop = Transforms.crop(src, box[0], box[1], box[2], box[3], null);
            img = PilResize.resize(crop, width, height, pre.interpolation());
        } else {
            img = pre.resizeAndCrop(image);
        }
        if (rnd.nextDouble() < 0.5) {
            img = flip(img);
        }
        return pre.toFloats(img);
    }

    /**
     * torchvision's {@code RandomResizedCrop.get_params}: up to 10 tries of an area fraction in [0.08, 1] and a
     * log-uniform aspect ratio in [3/4, 4/3]; else a center crop clamped to the ratio range. Returns {top, left,
     * h, w}.
     */
    static int[] randomResizedCrop(int height, int width, SplittableRandom rnd) {
        double area = (double) height * width;
        double logLo = Math.log(3.0 / 4);
        double logHi = Math.log(4.0 / 3);
        for (int attempt = 0; attempt < 10; attempt++) {
            double target = area * (0.08 + rnd.nextDouble() * (1 - 0.08));
            double aspect = Math.exp(logLo + rnd.nextDouble() * (logHi - logLo));
            int w = (int) Math.rint(Math.sqrt(target * aspect));
            int h = (int) Math.rint(Math.sqrt(target / aspect));
            if (w > 0 && w <= width && h > 0 && h <= height) {
                int top = rnd.nextInt(height - h + 1);
                int left = rnd.nextInt(width - w + 1);
                return new int[] {top, left, h, w};
            }
        }
        double ratio = (double) width / height;
        int w = width;
        int h = height;
        if (ratio < 3.0 / 4) {
            h = (int) Math.rint(w / (3.0 / 4));
        } else if (ratio > 4.0 / 3) {
            w = (int) Math.rint(h * (4.0 / 3));
        }
        return new int[] {(height - h) / 2, (width - w) / 2, h, w};
    }

    static DecodedImage flip(DecodedImage img) {
        int c = img.channels();
        int w = img.width();
        byte[] src = img.pixels();
        byte[] out = new byte[src.length];
        for (int y = 0; y < img.height(); y++) {
            for (int x = 0; x < w; x++) {
                System.arraycopy(src, (y * w + x) * c, out, (y * w + w - 1 - x) * c, c);
            }
        }
        return new DecodedImage(w, img.height(), img.mode(), out);
    }
}
