package dev.vitjava.image;

import dev.vitjava.VitException;
import dev.vitjava.tensor.Tensor;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;

/**
 * An eval-time image pipeline, as timm, torchvision or Hugging Face define it for a model: convert to RGB or L,
 * resize (with PIL), center-crop, scale to float and normalise, giving a (C, H, W) float32 array that equals what
 * the Python pipeline produces bit for bit.
 *
 * <p>Build one from a model's config (the loaded model's {@code preprocessing()}, read by
 * {@code checkpoint.PreprocessingReader}), from timm's parameters ({@link #timm}) or a preset
 * ({@link #torchvision()}), then override fields with the {@code with...} methods.
 *
 * @param mode          RGB or L, from the model's input channels
 * @param resize        how the image is resized before the crop
 * @param interpolation PIL filter for the resize
 * @param crop          the center crop, or null for none
 * @param rescale       how 8-bit values become floats
 * @param mean          per-channel mean subtracted after rescaling, or null to skip normalisation
 * @param std           per-channel standard deviation divided by after the mean, or null with {@code mean}
 * @param cropPct       timm's {@code crop_pct} (crop size / resize size) where the pipeline was defined by one,
 *                      else NaN; {@link #withImageSize} keeps this ratio
 */
public record Preprocessing(
        ColorMode mode,
        Resize resize,
        Interpolation interpolation,
        Crop crop,
        Rescale rescale,
        float[] mean,
        float[] std,
        double cropPct) {

    /** timm's {@code IMAGENET_DEFAULT_MEAN} / {@code _STD}, also torchvision's. */
    private static final double[] IMAGENET_MEAN = {0.485, 0.456, 0.406};
    private static final double[] IMAGENET_STD = {0.229, 0.224, 0.225};
    /** timm's {@code DEFAULT_CROP_PCT}. */
    public static final double DEFAULT_CROP_PCT = 0.875;

    /** How the image is resized before the crop. */
    public record Resize(Kind kind, int height, int width, int maxSize) {

        public enum Kind {
            /** Leave the size alone. */
            NONE,
            /** torchvision {@code Resize(int)} / Hugging Face {@code shortest_edge}: short side to {@code height}. */
            SHORTEST_EDGE,
            /** torchvision {@code Resize((h, w))}: exactly {@code height} x {@code width}, aspect ratio not kept. */
            EXACT,
            /** timm {@code ResizeKeepRatio(longest=0)}: scale so that both sides cover the target. */
            KEEP_RATIO,
            /** timm {@code ResizeKeepRatio(longest=1)} ({@code crop_mode='border'}): fit inside the target. */
            KEEP_RATIO_LONGEST
        }

        public Resize {
            if (kind != Kind.NONE && (height <= 0 || width <= 0)) {
                throw new IllegalArgumentException("resize size must be positive, got " + height + "x" + width);
            }
        }

        public static Resize none() {
            return new Resize(Kind.NONE, 0, 0, 0);
        }

        public static Resize shortestEdge(int size) {
            return new Resize(Kind.SHORTEST_EDGE, size, size, 0);
        }

        public static Resize shortestEdge(int size, int maxSize) {
            return new Resize(Kind.SHORTEST_EDGE, size, size, maxSize);
        }

        public static Resize exact(int height, int width) {
            return new Resize(Kind.EXACT, height, width, 0);
        }

        /**
         * Resizes {@code img}, refusing a target whose pixels, or the resize's intermediate (the horizontal pass
         * keeps the source rows), exceed {@code maxPixels}: an extreme aspect ratio (100000x1 to a 256 short side)
         * would otherwise allocate gigabytes from a file of a few bytes.
         */
        DecodedImage apply(DecodedImage img, Interpolation f, long maxPixels) {
            int[] hw = switch (kind) {
                case NONE -> null;
                case SHORTEST_EDGE -> Transforms.shortestEdgeSize(img.height(), img.width(), height, maxSize);
                case EXACT -> new int[] {height, width};
                case KEEP_RATIO, KEEP_RATIO_LONGEST -> Transforms.keepRatioSize(img.height(), img.width(), height,
                        width, kind == Kind.KEEP_RATIO ? 0.0 : 1.0);
            };
            if (hw == null) {
                return img;
            }
            long pixels = Math.max((long) hw[0] * hw[1], (long) hw[1] * img.height());
            if (hw[0] <= 0 || hw[1] <= 0 || hw[0] == Integer.MAX_VALUE || hw[1] == Integer.MAX_VALUE
                    || pixels > maxPixels) {
                throw new VitException("a " + img.width() + "x" + img.height() + " image resized to "
                        + (long) hw[1] + "x" + hw[0] + " (" + this + ") exceeds the pixel limit of " + maxPixels
                        + " (--max-pixels)");
            }
            return PilResize.resize(img, hw[1], hw[0], f);
        }

        @Override
        public String toString() {
            return switch (kind) {
                case NONE -> "no resize";
                case SHORTEST_EDGE -> "resize shortest edge to " + height + (maxSize > 0 ? " (max " + maxSize + ")" : "");
                case EXACT -> "resize to " + height + "x" + width;
                case KEEP_RATIO -> "resize keeping aspect ratio to cover " + height + "x" + width;
                case KEEP_RATIO_LONGEST -> "resize keeping aspect ratio to fit " + height + "x" + width;
            };
        }
    }

    /**
     * A center crop to {@code height} x {@code width}; sides smaller than the crop are padded with {@code fill}
     * (per channel; null means zeros).
     *
     * @param floorOffsets Hugging Face's {@code (H - h) // 2} offsets instead of torchvision's round-half-even
     */
    public record Crop(int height, int width, boolean floorOffsets, int[] fill) {

        public Crop {
            if (height <= 0 || width <= 0) {
                throw new IllegalArgumentException("crop size must be positive, got " + height + "x" + width);
            }
            fill = fill == null ? null : fill.clone();
        }

        public static Crop center(int height, int width) {
            return new Crop(height, width, false, null);
        }

        @Override
        public int[] fill() {
            return fill == null ? null : fill.clone();
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Crop c && c.height == height && c.width == width && c.floorOffsets == floorOffsets
                    && Arrays.equals(c.fill, fill);
        }

        @Override
        public int hashCode() {
            return ((height * 31 + width) * 31 + Boolean.hashCode(floorOffsets)) * 31 + Arrays.hashCode(fill);
        }

        DecodedImage apply(DecodedImage img) {
            return floorOffsets ? Transforms.centerCropFloor(img, height, width, fill)
                    : Transforms.centerCrop(img, height, width, fill);
        }

        @Override
        public String toString() {
            return "center crop " + height + "x" + width + (floorOffsets ? " (floor offsets)" : "")
                    + (fill != null ? " pad " + Arrays.toString(fill) : "");
        }
    }

    /**
     * How 8-bit values become floats: torchvision's {@code ToTensor} ({@code u8 / 255f} in float32), Hugging Face's
     * {@code rescale} ({@code u8 * factor} in float64, then cast to float32), or no scaling.
     */
    public record Rescale(Kind kind, double factor) {

        public enum Kind { TO_TENSOR, MULTIPLY, NONE }

        public static Rescale toTensor() {
            return new Rescale(Kind.TO_TENSOR, 1.0 / 255);
        }

        public static Rescale multiply(double factor) {
            return new Rescale(Kind.MULTIPLY, factor);
        }

        public static Rescale none() {
            return new Rescale(Kind.NONE, 1.0);
        }

        float apply(int u8) {
            return switch (kind) {
                case TO_TENSOR -> u8 / 255f;
                case MULTIPLY -> (float) (u8 * factor);
                case NONE -> u8;
            };
        }

        @Override
        public String toString() {
            return switch (kind) {
                case TO_TENSOR -> "x/255";
                case MULTIPLY -> "x*" + factor;
                case NONE -> "x";
            };
        }
    }

    public Preprocessing {
        if (mode == null || resize == null || interpolation == null || rescale == null) {
            throw new IllegalArgumentException("mode, resize, interpolation and rescale are required");
        }
        if ((mean == null) != (std == null)) {
            throw new IllegalArgumentException("mean and std must both be given or both be null");
        }
        if (mean != null) {
            mean = mean.clone();
            std = std.clone();
            if (mean.length != std.length || (mean.length != 1 && mean.length != mode.channels())) {
                throw new IllegalArgumentException("mean and std need " + mode.channels() + " values for " + mode
                        + ", got " + mean.length + " and " + std.length);
            }
            for (float s : std) {
                if (s == 0f || !Float.isFinite(s)) {
                    throw new IllegalArgumentException("std values must be finite and non-zero, got "
                            + Arrays.toString(std));
                }
            }
        }
    }

    @Override
    public float[] mean() {
        return mean == null ? null : mean.clone();
    }

    @Override
    public float[] std() {
        return std == null ? null : std.clone();
    }

    /** timm's {@code IMAGENET_DEFAULT_MEAN}. */
    public static double[] imagenetMean() {
        return IMAGENET_MEAN.clone();
    }

    /** timm's {@code IMAGENET_DEFAULT_STD}. */
    public static double[] imagenetStd() {
        return IMAGENET_STD.clone();
    }

    /**
     * Python floats to one float32 value per channel, as torchvision and numpy build them (round to nearest); a
     * single value applies to every channel.
     */
    public static float[] perChannel(double[] values, ColorMode mode, String what) {
        float[] f = floats(values);
        if (f.length == mode.channels()) {
            return f;
        }
        if (f.length == 1) {
            float[] out = new float[mode.channels()];
            Arrays.fill(out, f[0]);
            return out;
        }
        throw new VitException(what + " has " + f.length + " values but " + mode + " images have "
                + mode.channels() + " channel(s)");
    }

    // ---- presets ----

    /** torchvision's ImageNet eval transform: Resize(256, bilinear), CenterCrop(224), ImageNet mean and std. */
    public static Preprocessing torchvision() {
        return new Preprocessing(ColorMode.RGB, Resize.shortestEdge(256), Interpolation.BILINEAR,
                Crop.center(224, 224), Rescale.toTensor(), floats(IMAGENET_MEAN), floats(IMAGENET_STD), 224.0 / 256);
    }

    /** timm's eval transform from explicit values; {@code cropMode} is "center", "squash" or "border". */
    public static Preprocessing timm(ColorMode mode, int height, int width, Interpolation interpolation,
            double cropPct, String cropMode, double[] mean, double[] std) {
        float[] m = perChannel(mean, mode, "mean");
        float[] s = perChannel(std, mode, "std");
        int scaleH = (int) Math.floor(height / cropPct);
        int scaleW = (int) Math.floor(width / cropPct);
        String cm = cropMode == null ? "center" : cropMode.toLowerCase(Locale.ROOT);
        switch (cm) {
            case "squash":
                return new Preprocessing(mode, Resize.exact(scaleH, scaleW), interpolation,
                        Crop.center(height, width), Rescale.toTensor(), m, s, cropPct);
            case "border": {
                int[] fill = new int[m.length];
                for (int i = 0; i < fill.length; i++) {
                    fill[i] = (int) Math.rint(255 * mean[Math.min(i, mean.length - 1)]);
                }
                return new Preprocessing(mode, new Resize(Resize.Kind.KEEP_RATIO_LONGEST, scaleH, scaleW, 0),
                        interpolation, new Crop(height, width, false, fill), Rescale.toTensor(), m, s, cropPct);
            }
            case "center":
                if (scaleH == scaleW) {
                    return new Preprocessing(mode, Resize.shortestEdge(scaleH), interpolation,
                            Crop.center(height, width), Rescale.toTensor(), m, s, cropPct);
                }
                // timm builds ResizeKeepRatio(scale_size) here without passing the interpolation: bilinear
                return new Preprocessing(mode, new Resize(Resize.Kind.KEEP_RATIO, scaleH, scaleW, 0),
                        Interpolation.BILINEAR, Crop.center(height, width), Rescale.toTensor(), m, s, cropPct);
            default:
                throw new VitException("timm crop_mode '" + cropMode + "' is not supported (center, squash or border)");
        }
    }

    // ---- overrides ----

    /** The same pipeline for L or RGB input; a per-channel mean or std of the wrong length keeps its first value. */
    public Preprocessing withMode(ColorMode newMode) {
        if (newMode == mode) {
            return this;
        }
        float[] m = mean;
        float[] s = std;
        if (m != null && m.length != 1 && m.length != newMode.channels()) {
            // PIL-style pipelines for L models use one value; take the first when converting a 3-value preset
            m = newMode == ColorMode.L ? new float[] {m[0]} : new float[] {m[0], m[0], m[0]};
            s = newMode == ColorMode.L ? new float[] {s[0]} : new float[] {s[0], s[0], s[0]};
        }
        return new Preprocessing(newMode, resize, interpolation, crop, rescale, m, s, cropPct);
    }

    public Preprocessing withInterpolation(Interpolation newInterpolation) {
        return new Preprocessing(mode, resize, newInterpolation, crop, rescale, mean, std, cropPct);
    }

    public Preprocessing withMean(double... values) {
        return new Preprocessing(mode, resize, interpolation, crop, rescale,
                perChannel(values, mode, "mean"), std == null ? ones(values.length) : std, cropPct);
    }

    public Preprocessing withStd(double... values) {
        return new Preprocessing(mode, resize, interpolation, crop, rescale,
                mean == null ? new float[values.length] : mean, perChannel(values, mode, "std"), cropPct);
    }

    public Preprocessing withResize(Resize newResize) {
        return new Preprocessing(mode, newResize, interpolation, crop, rescale, mean, std, Double.NaN);
    }

    public Preprocessing withCrop(Crop newCrop) {
        return new Preprocessing(mode, resize, interpolation, newCrop, rescale, mean, std, Double.NaN);
    }

    /**
     * timm's crop_pct: resize to {@code floor(size / cropPct)} (short side for a square output, every side in
     * squash mode), then center-crop to the output size.
     */
    public Preprocessing withCropPct(double newCropPct) {
        if (!(newCropPct > 0) || newCropPct > 1e6) {
            throw new IllegalArgumentException("crop pct must be positive, got " + newCropPct);
        }
        int h = outputHeight();
        int w = outputWidth();
        if (h <= 0) {
            throw new IllegalArgumentException("crop pct needs a fixed output size; set the image size first");
        }
        return resizedFor(h, w, newCropPct);
    }

    /**
     * Changes the output size. Pipelines defined by a crop pct keep it (timm: resize to floor(size / crop_pct));
     * others scale their resize with the crop, or resize straight to the new size when they have no crop.
     */
    public Preprocessing withImageSize(int height, int width) {
        if (height <= 0 || width <= 0) {
            throw new IllegalArgumentException("image size must be positive, got " + height + "x" + width);
        }
        if (!Double.isNaN(cropPct)) {
            return resizedFor(height, width, cropPct);
        }
        if (crop == null) {
            if (resize.kind() == Resize.Kind.SHORTEST_EDGE) {
                // a shortest-edge resize alone has no fixed output size: cover the new size, then crop it
                return new Preprocessing(mode, Resize.shortestEdge(Math.max(height, width)), interpolation,
                        new Crop(height, width, true, null), rescale, mean, std, cropPct);
            }
            return new Preprocessing(mode, Resize.exact(height, width), interpolation, null, rescale, mean, std,
                    cropPct);
        }
        double sh = (double) height / crop.height();
        double sw = (double) width / crop.width();
        Resize r = switch (resize.kind()) {
            case NONE -> resize;
            case SHORTEST_EDGE -> Resize.shortestEdge((int) Math.round(resize.height() * Math.min(sh, sw)));
            default -> new Resize(resize.kind(), (int) Math.round(resize.height() * sh),
                    (int) Math.round(resize.width() * sw), 0);
        };
        Crop c = new Crop(height, width, crop.floorOffsets(), crop.fill);
        return new Preprocessing(mode, r, interpolation, c, rescale, mean, std, cropPct);
    }

    private Preprocessing resizedFor(int h, int w, double pct) {
        int scaleH = (int) Math.floor(h / pct);
        int scaleW = (int) Math.floor(w / pct);
        Resize r;
        if (resize.kind() == Resize.Kind.EXACT) {
            r = Resize.exact(scaleH, scaleW);
        } else if (resize.kind() == Resize.Kind.KEEP_RATIO_LONGEST) {
            r = new Resize(Resize.Kind.KEEP_RATIO_LONGEST, scaleH, scaleW, 0);
        } else if (scaleH == scaleW) {
            r = Resize.shortestEdge(scaleH);
        } else {
            r = new Resize(Resize.Kind.KEEP_RATIO, scaleH, scaleW, 0);
        }
        Crop c = crop == null ? Crop.center(h, w) : new Crop(h, w, crop.floorOffsets(), crop.fill);
        return new Preprocessing(mode, r, interpolation, c, rescale, mean, std, pct);
    }

    /** The output height when it does not depend on the image (a crop or an exact resize), else -1. */
    public int outputHeight() {
        if (crop != null) {
            return crop.height();
        }
        return resize.kind() == Resize.Kind.EXACT ? resize.height() : -1;
    }

    /** The output width when it does not depend on the image, else -1. */
    public int outputWidth() {
        if (crop != null) {
            return crop.width();
        }
        return resize.kind() == Resize.Kind.EXACT ? resize.width() : -1;
    }

    // ---- running it ----

    /** Mode conversion, resize and crop: the 8-bit image just before {@code ToTensor}, within PIL's pixel limit. */
    public DecodedImage resizeAndCrop(DecodedImage image) {
        return resizeAndCrop(image, ImageDecoder.DEFAULT_MAX_PIXELS);
    }

    /** {@link #resizeAndCrop(DecodedImage)} refusing a resize to more than {@code maxPixels} (see {@link Resize}). */
    public DecodedImage resizeAndCrop(DecodedImage image, long maxPixels) {
        DecodedImage img = image.convert(mode);
        img = resize.apply(img, interpolation, maxPixels);
        if (crop != null) {
            img = crop.apply(img);
        }
        return img;
    }

    /** The whole pipeline: a (C, H, W) float32 array, channel-major as PyTorch lays it out. */
    public float[] apply(DecodedImage image) {
        return toFloats(resizeAndCrop(image));
    }

    /** {@code ToTensor} and {@code Normalize} on an already resized and cropped image. */
    public float[] toFloats(DecodedImage img) {
        int c = img.channels();
        int plane = img.width() * img.height();
        float[][] lut = new float[c][256];
        for (int ch = 0; ch < c; ch++) {
            float m = mean == null ? 0f : mean[Math.min(ch, mean.length - 1)];
            float s = std == null ? 1f : std[Math.min(ch, std.length - 1)];
            for (int u = 0; u < 256; u++) {
                float x = rescale.apply(u);
                lut[ch][u] = mean == null ? x : (x - m) / s;
            }
        }
        byte[] px = img.pixels();
        float[] out = new float[c * plane];
        for (int ch = 0; ch < c; ch++) {
            float[] t = lut[ch];
            int o = ch * plane;
            for (int i = 0, p = ch; i < plane; i++, p += c) {
                out[o + i] = t[px[p] & 0xff];
            }
        }
        return out;
    }

    /** {@link #apply} as a (C, H, W) tensor. */
    public Tensor toTensor(DecodedImage image) {
        return toTensor(image, ImageDecoder.DEFAULT_MAX_PIXELS);
    }

    /** {@link #apply} as a (C, H, W) tensor, refusing a resize to more than {@code maxPixels}. */
    public Tensor toTensor(DecodedImage image, long maxPixels) {
        DecodedImage img = resizeAndCrop(image, maxPixels);
        return Tensor.of(toFloats(img), img.channels(), img.height(), img.width());
    }

    /** Decodes {@code file} with PIL's default pixel limit and runs the pipeline: a (C, H, W) tensor. */
    public Tensor load(Path file) {
        return load(file, new ImageDecoder());
    }

    public Tensor load(Path file, ImageDecoder decoder) {
        return toTensor(decoder.decode(file, mode), decoder.maxPixels());
    }

    /** One line for logs and the CLI. */
    public String describe() {
        StringBuilder sb = new StringBuilder();
        sb.append(mode).append(", ").append(resize);
        if (resize.kind() != Resize.Kind.NONE) {
            sb.append(' ').append(interpolation.id());
        }
        if (crop != null) {
            sb.append(", ").append(crop);
        }
        if (!Double.isNaN(cropPct)) {
            sb.append(" (crop_pct ").append(cropPct).append(')');
        }
        sb.append(", ").append(rescale);
        if (mean != null) {
            sb.append(", mean ").append(Arrays.toString(mean)).append(" std ").append(Arrays.toString(std));
        }
        return sb.toString();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Preprocessing p && p.mode == mode && p.resize.equals(resize)
                && p.interpolation == interpolation && java.util.Objects.equals(p.crop, crop)
                && p.rescale.equals(rescale) && Arrays.equals(p.mean, mean) && Arrays.equals(p.std, std)
                && Double.compare(p.cropPct, cropPct) == 0;
    }

    @Override
    public int hashCode() {
        return java.util.Objects.hash(mode, resize, interpolation, crop, rescale, Arrays.hashCode(mean),
                Arrays.hashCode(std), cropPct);
    }

    @Override
    public String toString() {
        return "Preprocessing[" + describe() + "]";
    }

    // ---- helpers ----

    /** Python floats to the float32 tensor torchvision and numpy build from them (round to nearest). */
    private static float[] floats(double[] values) {
        float[] out = new float[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = (float) values[i];
        }
        return out;
    }

    private static float[] ones(int n) {
        float[] out = new float[n];
        Arrays.fill(out, 1f);
        return out;
    }
}
