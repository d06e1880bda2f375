package dev.vitjava.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.MissingNode;
import dev.vitjava.VitException;
import dev.vitjava.image.ColorMode;
import dev.vitjava.image.Interpolation;
import dev.vitjava.image.Preprocessing;
import dev.vitjava.image.Preprocessing.Crop;
import dev.vitjava.image.Preprocessing.Rescale;
import dev.vitjava.image.Preprocessing.Resize;

/**
 * Reads the eval-time image pipeline ({@link Preprocessing}) a checkpoint's files describe: timm's
 * {@code pretrained_cfg} (in a hub {@code config.json} or bare), a Hugging Face {@code preprocessor_config.json},
 * and each naming's default when the files say nothing. The {@code image} package runs the pipeline; this class
 * only parses, next to {@link ConfigReader}, which reads the architecture from the same files.
 */
public final class PreprocessingReader {

    /** Hugging Face's {@code IMAGENET_STANDARD_MEAN} / {@code _STD}, the ViTImageProcessor defaults. */
    private static final double[] HALF = {0.5, 0.5, 0.5};

    private PreprocessingReader() {
    }

    /**
     * timm's {@code transforms_imagenet_eval} for a {@code pretrained_cfg} (or a hub {@code config.json} holding
     * one; null gives timm's defaults): {@code input_size}, {@code interpolation} (default bicubic),
     * {@code crop_pct} (default 0.875), {@code crop_mode} (center, squash or border), {@code mean}, {@code std}.
     */
    public static Preprocessing timm(JsonNode cfg) {
        if (cfg != null && cfg.has("pretrained_cfg")) {
            cfg = cfg.get("pretrained_cfg");
        }
        if (cfg == null || cfg.isNull()) {
            cfg = MissingNode.getInstance();
        }
        if (!cfg.isMissingNode() && !cfg.isObject()) {
            throw new VitException("timm pretrained_cfg is not a JSON object");
        }
        int channels = 3;
        int h = 224;
        int w = 224;
        JsonNode input = cfg.path("input_size");
        if (!input.isMissingNode() && !input.isNull()) {
            if (!input.isArray() || input.size() != 3 || !allInts(input)) {
                throw new VitException("timm pretrained_cfg.input_size must be [channels, height, width], got " + input);
            }
            channels = input.get(0).asInt();
            h = input.get(1).asInt();
            w = input.get(2).asInt();
        }
        ColorMode mode = modeFor(channels, "timm pretrained_cfg.input_size");
        Interpolation interp = Interpolation.BICUBIC;
        if (cfg.hasNonNull("interpolation")) {
            interp = parseInterpolation(cfg.get("interpolation").asText(), "timm pretrained_cfg.interpolation");
        }
        double cropPct = Preprocessing.DEFAULT_CROP_PCT;
        if (cfg.hasNonNull("crop_pct")) {
            if (!cfg.get("crop_pct").isNumber() || !(cfg.get("crop_pct").asDouble() > 0)) {
                throw new VitException("timm pretrained_cfg.crop_pct must be a positive number, got "
                        + cfg.get("crop_pct"));
            }
            cropPct = cfg.get("crop_pct").asDouble();
        }
        String cropMode = cfg.hasNonNull("crop_mode") ? cfg.get("crop_mode").asText() : "center";
        double[] mean = cfg.hasNonNull("mean") ? doubles(cfg.get("mean"), "timm pretrained_cfg.mean") : Preprocessing.imagenetMean();
        double[] std = cfg.hasNonNull("std") ? doubles(cfg.get("std"), "timm pretrained_cfg.std") : Preprocessing.imagenetStd();
        return Preprocessing.timm(mode, h, w, interp, cropPct, cropMode, mean, std);
    }

    /**
     * A Hugging Face image processor ({@code preprocessor_config.json}); null or missing fields take
     * ViTImageProcessor's defaults: resize to 224x224 bilinear, rescale by 1/255, normalise with mean = std = 0.5.
     * Reads {@code do_resize}, {@code size} ({@code height}/{@code width}, {@code shortest_edge} with optional
     * {@code longest_edge}, or an int), {@code resample}, {@code do_center_crop}, {@code crop_size},
     * {@code do_rescale}, {@code rescale_factor}, {@code do_normalize}, {@code image_mean}, {@code image_std}.
     */
    public static Preprocessing huggingFace(JsonNode cfg) {
        if (cfg == null || cfg.isNull()) {
            cfg = MissingNode.getInstance();
        }
        if (!cfg.isMissingNode() && !cfg.isObject()) {
            throw new VitException("Hugging Face preprocessor config is not a JSON object");
        }
        ColorMode mode = ColorMode.RGB;
        if (cfg.hasNonNull("num_channels")) {
            mode = modeFor(cfg.get("num_channels").asInt(), "preprocessor config num_channels");
        }
        Resize resize = Resize.none();
        if (cfg.path("do_resize").asBoolean(true)) {
            JsonNode size = cfg.path("size");
            if (size.isMissingNode() || size.isNull()) {
                resize = Resize.exact(224, 224);
            } else if (size.isIntegralNumber()) {
                resize = Resize.exact(size.asInt(), size.asInt());
            } else if (size.isObject() && size.has("height") && size.has("width")) {
                resize = Resize.exact(positive(size.get("height"), "size.height"),
                        positive(size.get("width"), "size.width"));
            } else if (size.isObject() && size.has("shortest_edge")) {
                int maxSize = size.hasNonNull("longest_edge") ? positive(size.get("longest_edge"), "size.longest_edge") : 0;
                resize = Resize.shortestEdge(positive(size.get("shortest_edge"), "size.shortest_edge"), maxSize);
            } else {
                throw new VitException("preprocessor config size " + size + " is not supported (expected "
                        + "{height, width}, {shortest_edge} or an int)");
            }
        }
        Interpolation interp = Interpolation.BILINEAR;
        if (cfg.hasNonNull("resample")) {
            JsonNode r = cfg.get("resample");
            try {
                interp = r.isNumber() ? Interpolation.fromPilCode(r.asInt()) : Interpolation.parse(r.asText());
            } catch (IllegalArgumentException e) {
                throw new VitException("preprocessor config resample: " + e.getMessage());
            }
        }
        Crop crop = null;
        if (cfg.path("do_center_crop").asBoolean(false)) {
            JsonNode cs = cfg.path("crop_size");
            int ch = 224;
            int cw = 224;
            if (cs.isIntegralNumber()) {
                ch = cw = positive(cs, "crop_size");
            } else if (cs.isObject()) {
                ch = positive(cs.get("height"), "crop_size.height");
                cw = positive(cs.get("width"), "crop_size.width");
            }
            crop = new Crop(ch, cw, true, null);
        }
        Rescale rescale = cfg.path("do_rescale").asBoolean(true)
                ? Rescale.multiply(cfg.hasNonNull("rescale_factor") ? cfg.get("rescale_factor").asDouble() : 1.0 / 255)
                : Rescale.none();
        float[] m = null;
        float[] s = null;
        if (cfg.path("do_normalize").asBoolean(true)) {
            m = Preprocessing.perChannel(cfg.hasNonNull("image_mean") ? doubles(cfg.get("image_mean"), "image_mean") : HALF,
                    mode, "image_mean");
            s = Preprocessing.perChannel(cfg.hasNonNull("image_std") ? doubles(cfg.get("image_std"), "image_std") : HALF,
                    mode, "image_std");
        }
        return new Preprocessing(mode, resize, interp, crop, rescale, m, s, Double.NaN);
    }

    /**
     * From a config file's JSON: a timm hub {@code config.json} (with {@code pretrained_cfg}) or a bare
     * {@code pretrained_cfg}, or a Hugging Face {@code preprocessor_config.json}.
     */
    public static Preprocessing fromConfig(JsonNode json) {
        if (json == null || !json.isObject()) {
            throw new VitException("preprocessing config is not a JSON object");
        }
        if (json.has("pretrained_cfg") || json.has("input_size") || json.has("crop_pct")) {
            return fromJson(() -> timm(json));
        }
        for (String key : new String[] {"image_processor_type", "feature_extractor_type", "do_resize", "do_rescale",
                "do_normalize", "image_mean", "image_std", "size", "resample", "rescale_factor"}) {
            if (json.has(key)) {
                return fromJson(() -> huggingFace(json));
            }
        }
        throw new VitException("config has neither timm pretrained_cfg fields (input_size, crop_pct, ...) nor Hugging "
                + "Face image processor fields (size, image_mean, ...)");
    }

    /**
     * The pipeline a model was trained with: its Hugging Face {@code preprocessor_config.json}, else the timm
     * {@code pretrained_cfg} in its {@code config.json} (either may be null), else the default of its naming
     * (timm's defaults at the model's size, ViTImageProcessor at the model's size, or torchvision's
     * Resize(256)/CenterCrop(224) scaled to the model's size). The colour mode always follows the model's input
     * channels.
     */
    public static Preprocessing forModel(Naming naming, int imgHeight, int imgWidth, int inChans, JsonNode config,
            JsonNode preprocessorConfig) {
        ColorMode mode = modeFor(inChans, "model in_chans");
        Preprocessing p;
        if (preprocessorConfig != null && preprocessorConfig.isObject()) {
            p = fromJson(() -> huggingFace(preprocessorConfig));
        } else if (config != null && config.path("pretrained_cfg").isObject()) {
            p = fromJson(() -> timm(config));
        } else {
            p = naming.defaultPreprocessing();
            if (p.outputHeight() != imgHeight || p.outputWidth() != imgWidth) {
                p = p.withImageSize(imgHeight, imgWidth);
            }
        }
        return p.withMode(mode);
    }

    // ---- helpers ----

    /** Values a config gives that the pipeline refuses (a zero std, say) are the config's error, in one line. */
    private static Preprocessing fromJson(java.util.function.Supplier<Preprocessing> read) {
        try {
            return read.get();
        } catch (IllegalArgumentException e) {
            throw new VitException("preprocessing config: " + e.getMessage());
        }
    }

    private static ColorMode modeFor(int channels, String what) {
        if (channels != 1 && channels != 3) {
            throw new VitException(what + ": " + channels + " channels are not supported (1 for L, 3 for RGB)");
        }
        return ColorMode.forChannels(channels);
    }

    private static Interpolation parseInterpolation(String name, String what) {
        try {
            return Interpolation.parse(name);
        } catch (IllegalArgumentException e) {
            throw new VitException(what + ": " + e.getMessage());
        }
    }

    private static int positive(JsonNode n, String what) {
        if (n == null || !n.isIntegralNumber() || n.asInt() <= 0) {
            throw new VitException("preprocessor config " + what + " must be a positive integer, got " + n);
        }
        return n.asInt();
    }

    private static boolean allInts(JsonNode array) {
        for (JsonNode n : array) {
            if (!n.isIntegralNumber() || n.asInt() <= 0) {
                return false;
            }
        }
        return true;
    }

    private static double[] doubles(JsonNode n, String what) {
        if (n.isNumber()) {
            return new double[] {n.asDouble()};
        }
        if (!n.isArray() || n.isEmpty()) {
            throw new VitException(what + " must be a number or a list of numbers, got " + n);
        }
        double[] out = new double[n.size()];
        for (int i = 0; i < out.length; i++) {
            if (!n.get(i).isNumber()) {
                throw new VitException(what + " must be a number or a list of numbers, got " + n);
            }
            out[i] = n.get(i).asDouble();
        }
        return out;
    }
}
