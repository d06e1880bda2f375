package dev.vitjava.cli;

import dev.vitjava.VitException;
import dev.vitjava.checkpoint.LoadedModel;
import dev.vitjava.checkpoint.PreprocessingReader;
import dev.vitjava.image.ColorMode;
import dev.vitjava.image.DecodedImage;
import dev.vitjava.image.ImageDecoder;
import dev.vitjava.image.Interpolation;
import dev.vitjava.image.Preprocessing;
import dev.vitjava.model.ViTConfig;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.function.Function;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** How images become model input: the model's own pipeline or a preset, with single fields overridden. */
final class PreprocessOptions {

    /** The image file name that means standard input. */
    static final String STDIN = "-";
    /** The most bytes read from standard input as one image. */
    private static final int MAX_STDIN_BYTES = 1 << 30;

    enum Preset {
        timm, hf, torchvision;

        Preprocessing pipeline() {
            return switch (this) {
                case timm -> PreprocessingReader.timm(null);
                case hf -> PreprocessingReader.huggingFace(null);
                case torchvision -> Preprocessing.torchvision();
            };
        }
    }

    @Spec(Spec.Target.MIXEE)
    CommandSpec command;

    @Option(names = "--preset", paramLabel = "NAME",
            description = "Preprocessing preset instead of the model's own: ${COMPLETION-CANDIDATES}.")
    Preset preset;

    @Option(names = "--img-size", paramLabel = "SIZE", converter = OptionValues.ImageSize.class,
            description = "Output size: N or H,W (timm presets keep crop_pct: resize to floor(size / crop_pct),"
                    + " then crop).")
    OptionValues.Size imgSize;

    @Option(names = "--interpolation", paramLabel = "NAME", converter = OptionValues.Filter.class,
            description = "Resize filter: nearest, bilinear, bicubic, box, hamming, lanczos.")
    Interpolation interpolation;

    @Option(names = "--crop-pct", paramLabel = "P", converter = OptionValues.CropPct.class,
            description = "timm crop_pct: resize to size / P, crop to size.")
    Double cropPct;

    @Option(names = "--mean", paramLabel = "MEAN", split = ",", converter = OptionValues.Finite.class,
            description = "Mean: one value, or one per channel.")
    double[] mean;

    @Option(names = "--std", paramLabel = "STD", split = ",", converter = OptionValues.PositiveFinite.class,
            description = "Standard deviation: one value, or one per channel.")
    double[] std;

    @Option(names = "--max-pixels", paramLabel = "N", defaultValue = "" + ImageDecoder.DEFAULT_MAX_PIXELS,
            converter = OptionValues.PositiveLong.class,
            description = "Refuse images with more pixels (decompression-bomb guard; default ${DEFAULT-VALUE}).")
    long maxPixels;

    private byte[] stdin;
    private boolean warnedColour;

    /**
     * The pipeline for a model (its own, or the preset at its size and channels) with the overrides applied. Warns
     * on stderr when a bare checkpoint gets default preprocessing, or when the input size is far from the model's.
     */
    Preprocessing forModel(LoadedModel model) {
        Preprocessing p;
        if (preset == null) {
            p = overrides(model.preprocessing());
        } else {
            ViTConfig c = model.model().config();
            p = preset.pipeline().withMode(ColorMode.forChannels(c.inChans()));
            if (imgSize == null) {
                p = p.withImageSize(c.imgHeight(), c.imgWidth());
            }
            p = overrides(p);
        }
        warnAboutGuesses(model, p);
        return p;
    }

    /** A preset without a model (RGB unless the mean/std give one channel). */
    Preprocessing withoutModel() {
        Preprocessing p = (preset == null ? Preset.timm : preset).pipeline();
        if (mean != null && mean.length == 1) {
            p = p.withMode(ColorMode.L);
        }
        return overrides(p);
    }

    ImageDecoder decoder() {
        return new ImageDecoder(maxPixels);
    }

    /**
     * Reads image files ({@code -}: standard input) in the pipeline's colour mode, as {@code Image.open(f).convert}
     * does, warning once when a colour image goes into a grayscale model.
     */
    Function<Path, DecodedImage> reader(Preprocessing p) {
        ImageDecoder decoder = decoder();
        return file -> {
            DecodedImage image = file.toString().equals(STDIN) ? decoder.decode(stdin(), "stdin")
                    : decoder.decode(file);
            if (p.mode() == ColorMode.L && !warnedColour && isColour(image)) {
                warnedColour = true;
                warn(file + " is a colour image and the model takes grayscale: converted to L (luma), as PIL's"
                        + " convert('L') does (said once)");
            }
            return image.convert(p.mode());
        };
    }

    private byte[] stdin() {
        if (stdin == null) {
            try {
                stdin = System.in.readNBytes(MAX_STDIN_BYTES + 1);
            } catch (IOException e) {
                throw new VitException("stdin: cannot read: " + e.getMessage());
            }
            if (stdin.length > MAX_STDIN_BYTES) {
                throw new VitException("stdin: more than " + MAX_STDIN_BYTES + " bytes, too large for one image");
            }
        }
        return stdin;
    }

    private static boolean isColour(DecodedImage image) {
        if (image.mode() != ColorMode.RGB) {
            return false;
        }
        byte[] px = image.pixels();
        for (int i = 0; i < px.length; i += 3) {
            if (px[i] != px[i + 1] || px[i] != px[i + 2]) {
                return true;
            }
        }
        return false;
    }

    private void warnAboutGuesses(LoadedModel model, Preprocessing p) {
        ViTConfig c = model.model().config();
        if (preset == null && (mean == null || std == null) && baseSource(model).startsWith("default")) {
            warn(model.weightsFile() + " comes without a preprocessing config (config.json pretrained_cfg or"
                    + " preprocessor_config.json), so it gets the " + model.naming().id() + " defaults ("
                    + p.describe() + "); give --preset or --mean/--std if it was trained otherwise");
        }
        int h = p.outputHeight();
        int w = p.outputWidth();
        double ratio = Math.max(Math.max((double) h / c.imgHeight(), (double) c.imgHeight() / h),
                Math.max((double) w / c.imgWidth(), (double) c.imgWidth() / w));
        if (h > 0 && w > 0 && ratio >= 2) {
            warn(String.format(Locale.ROOT, "the input is %dx%d and the model was trained at %dx%d: its position"
                    + " embeddings are resampled from a %dx%d grid to %dx%d (%.1fx), which can cost accuracy", h, w,
                    c.imgHeight(), c.imgWidth(), c.gridHeight(), c.gridWidth(), h / c.patchSize(),
                    w / c.patchSize(), ratio));
        }
    }

    private void warn(String message) {
        PrintWriter err = command.commandLine().getErr();
        err.println("vit: warning: " + message);
        err.flush();
    }

    /** One row of {@link #provenance}: a field of the pipeline, its value, and where the value came from. */
    record Field(String name, String value, String source) {
    }

    /** Each field of {@code p} (this model's pipeline) with where it came from: the options, a config, a default. */
    List<Field> provenance(LoadedModel model, Preprocessing p) {
        String base = preset != null ? "--preset " + preset : baseSource(model);
        LoadedModel.PreprocessingOrigin origin = model.preprocessingOrigin();
        Set<String> configKeys = preset == null ? origin.keys() : Set.of();
        boolean hf = origin.prefix() != null && origin.prefix().startsWith("preprocessor_config.json");
        String file = origin.prefix();
        Function<String[], String> from = keys -> {
            for (String k : keys) {
                if (configKeys.contains(k)) {
                    return file + k;
                }
            }
            return base;
        };
        List<Field> fields = new ArrayList<>();
        fields.add(new Field("mode", p.mode().toString(), "model in_chans " + model.model().config().inChans()));
        fields.add(new Field("size", p.outputHeight() + "x" + p.outputWidth(), imgSize != null ? "--img-size"
                : preset != null ? "model image size" : from.apply(hf ? new String[] {"crop_size", "size"}
                : new String[] {"input_size"})));
        fields.add(new Field("resize", p.resize().toString(), cropPct != null ? "--crop-pct" : imgSize != null
                ? "--img-size" : from.apply(hf ? new String[] {"size", "do_resize"}
                : new String[] {"crop_pct", "crop_mode", "input_size"})));
        fields.add(new Field("interpolation", p.interpolation().id(), interpolation != null ? "--interpolation"
                : from.apply(new String[] {hf ? "resample" : "interpolation"})));
        fields.add(new Field("crop", p.crop() == null ? "none" : p.crop().toString(), imgSize != null ? "--img-size"
                : from.apply(hf ? new String[] {"crop_size", "do_center_crop"} : new String[] {"input_size"})));
        fields.add(new Field("rescale", p.rescale().toString(),
                from.apply(hf ? new String[] {"rescale_factor", "do_rescale"} : new String[0])));
        fields.add(new Field("mean", Arrays.toString(p.mean()), mean != null ? "--mean"
                : from.apply(new String[] {hf ? "image_mean" : "mean"})));
        fields.add(new Field("std", Arrays.toString(p.std()), std != null ? "--std"
                : from.apply(new String[] {hf ? "image_std" : "std"})));
        return fields;
    }

    /** Where a model's own pipeline comes from, for fields its config does not set (as the reader chooses). */
    private static String baseSource(LoadedModel model) {
        String prefix = model.preprocessingOrigin().prefix();
        if (prefix == null) {
            return "default for " + model.naming().id() + " naming (no preprocessing config), at the model's size";
        }
        return prefix.startsWith("preprocessor_config.json") ? "ViTImageProcessor default" : "timm default";
    }

    private Preprocessing overrides(Preprocessing p) {
        if (imgSize != null) {
            p = p.withImageSize(imgSize.height(), imgSize.width());
        }
        if (cropPct != null) {
            p = p.withCropPct(cropPct);
        }
        if (interpolation != null) {
            p = p.withInterpolation(interpolation);
        }
        int channels = p.mode().channels();
        if (mean != null) {
            p = p.withMean(checkChannels("--mean", mean, channels));
        }
        if (std != null) {
            p = p.withStd(checkChannels("--std", std, channels));
        }
        return p;
    }

    /** One value (used for every channel) or one per channel. */
    private double[] checkChannels(String option, double[] v, int channels) {
        if (v.length == 1) {
            double[] all = new double[channels];
            Arrays.fill(all, v[0]);
            return all;
        }
        if (v.length != channels) {
            throw new ParameterException(command.commandLine(), option + " has " + v.length + " values "
                    + Arrays.toString(v) + " for " + channels + " channel(s)");
        }
        return v;
    }
}
