package dev.vitjava.image;

import java.util.Locale;

/**
 * PIL's resampling filters, with the integer codes that PIL, Hugging Face ({@code "resample": 3}) and torchvision
 * use and the names that timm configs use ({@code "interpolation": "bicubic"}).
 */
public enum Interpolation {
    NEAREST(0),
    LANCZOS(1),
    BILINEAR(2),
    BICUBIC(3),
    BOX(4),
    HAMMING(5);

    private final int pilCode;

    Interpolation(int pilCode) {
        this.pilCode = pilCode;
    }

    /** The {@code PIL.Image.Resampling} value. */
    public int pilCode() {
        return pilCode;
    }

    public static Interpolation fromPilCode(int code) {
        for (Interpolation i : values()) {
            if (i.pilCode == code) {
                return i;
            }
        }
        throw new IllegalArgumentException("unknown PIL resampling code " + code
                + " (0 nearest, 1 lanczos, 2 bilinear, 3 bicubic, 4 box, 5 hamming)");
    }

    /** Parses a timm / torchvision name ("bicubic", "bilinear", "nearest", "lanczos", "box", "hamming"; "antialias" = lanczos). */
    public static Interpolation parse(String name) {
        String n = name.trim().toLowerCase(Locale.ROOT);
        return switch (n) {
            case "nearest" -> NEAREST;
            case "bilinear", "linear" -> BILINEAR;
            case "bicubic", "cubic" -> BICUBIC;
            case "lanczos", "antialias" -> LANCZOS;
            case "box" -> BOX;
            case "hamming" -> HAMMING;
            default -> throw new IllegalArgumentException("unknown interpolation '" + name
                    + "' (expected nearest, bilinear, bicubic, lanczos, box or hamming)");
        };
    }

    /** The lower-case name timm uses. */
    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }
}
