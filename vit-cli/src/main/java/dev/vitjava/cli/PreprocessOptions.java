package dev.vitjava.cli;

import dev.vitjava.VitException;
import dev.vitjava.checkpoint.LoadedModel;
import dev.vitjava.checkpoint.PreprocessingReader;
import dev.vitjava.image.ColorMode;
import dev.vitjava.image.ImageDecoder;
import dev.vitjava.image.Interpolation;
import dev.vitjava.image.Preprocessing;
import java.util.Arrays;
import picocli.CommandLine.Option;

/** How images become model input: the model's own pipeline or a preset, with single fields overridden. */
final class PreprocessOptions {

    @Option(names = "--preset", paramLabel = "NAME",
            description = "Preprocessing preset instead of the model's own: timm, hf, torchvision.")
    String preset;

    @Option(names = "--img-size", paramLabel = "SIZE", description = "Output size: N or H,W (timm presets keep "
            + "crop_pct: resize to floor(size / crop_pct), then crop).")
    String imgSize;

    @Option(names = "--interpolation", paramLabel = "NAME",
            description = "Resize filter: nearest, bilinear, bicubic, box, hamming, lanczos.")
    String interpolation;

    @Option(names = "--crop-pct", paramLabel = "P", description = "timm crop_pct: resize to size / P, crop to size.")
    Double cropPct;

    @Option(names = "--mean", paramLabel = "MEAN", split = ",", description = "Mean: one value, or one per channel.")
    double[] mean;

    @Option(names = "--std", paramLabel = "STD", split = ",",
            description = "Standard deviation: one value, or one per channel.")
    double[] std;

    @Option(names = "--max-pixels", paramLabel = "N", defaultValue = "" + ImageDecoder.DEFAULT_MAX_PIXELS,
            description = "Refuse images with more pixels (decompression-bomb guard; default ${DEFAULT-VALUE}).")
    long maxPixels;

    /** The pipeline for a model (its own, or the preset at its size and channels) with the overrides applied. */
    Preprocessing forModel(LoadedModel model) {
        if (preset == null) {
            return overrides(model.preprocessing());
        }
        var c = model.model().config();
        Preprocessing p = preset(preset).withMode(ColorMode.forChannels(c.inChans()));
        if (imgSize == null) {
            p = p.withImageSize(c.imgHeight(), c.imgWidth());
        }
        return overrides(p);
    }

    /** A preset without a model (RGB unless the mean/std give one channel). */
    Preprocessing withoutModel() {
        Preprocessing p = preset(preset == null ? "timm" : preset);
        if (mean != null && mean.length == 1) {
            p = p.withMode(ColorMode.L);
        }
        return overrides(p);
    }

    ImageDecoder decoder() {
        if (maxPixels <= 0) {
            throw new VitException("--max-pixels must be positive");
        }
        return new ImageDecoder(maxPixels);
    }

    private static Preprocessing preset(String name) {
        return switch (name) {
            case "timm" -> PreprocessingReader.timm(null);
            case "hf", "huggingface" -> PreprocessingReader.huggingFace(null);
            case "torchvision", "tv" -> Preprocessing.torchvision();
            default -> throw new VitException("unknown --preset '" + name + "' (choose timm, hf or torchvision)");
        };
    }

    private Preprocessing overrides(Preprocessing p) {
        if (imgSize != null) {
            int[] hw = parseSize(imgSize);
            p = p.withImageSize(hw[0], hw[1]);
        }
        if (cropPct != null) {
            if (!(cropPct > 0 && cropPct <= 1)) {
                throw new VitException("--crop-pct must be in (0, 1], not " + cropPct);
            }
            p = p.withCropPct(cropPct);
        }
        if (interpolation != null) {
            try {
                p = p.withInterpolation(Interpolation.parse(interpolation));
            } catch (IllegalArgumentException e) {
                throw new VitException("--interpolation: " + e.getMessage());
            }
        }
        int channels = p.mode().channels();
        if (mean != null) {
            for (double m : mean) {
                if (!Double.isFinite(m)) {
                    throw new VitException("--mean values must be finite numbers, not " + m);
                }
            }
            p = p.withMean(checkChannels("--mean", mean, channels));
        }
        if (std != null) {
            for (double s : std) {
                if (!(s > 0 && Double.isFinite(s))) {
                    throw new VitException("--std values must be positive finite numbers, not " + s);
                }
            }
            p = p.withStd(checkChannels("--std", std, channels));
        }
        return p;
    }

    /** One value (used for every channel) or one per channel. */
    private static double[] checkChannels(String option, double[] v, int channels) {
        if (v.length == 1) {
            double[] all = new double[channels];
            Arrays.fill(all, v[0]);
            return all;
        }
        if (v.length != channels) {
            throw new VitException(option + " has " + v.length + " values " + Arrays.toString(v) + " for "
                    + channels + " channel(s)");
        }
        return v;
    }

    static int[] parseSize(String s) {
        try {
            String[] parts = s.split("[,x]");
            int h = Integer.parseInt(parts[0].strip());
            int w = parts.length > 1 ? Integer.parseInt(parts[1].strip()) : h;
            if (parts.length > 2 || h <= 0 || w <= 0 || h > 16384 || w > 16384) {
                throw new NumberFormatException();
            }
            return new int[] {h, w};
        } catch (NumberFormatException e) {
            throw new VitException("--img-size must be N or H,W with positive sizes up to 16384, not '" + s + "'");
        }
    }
}
