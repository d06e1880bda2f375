package dev.vitjava.image;

/** The two pixel modes a model can take, named as PIL names them: 8-bit RGB, or 8-bit grayscale "L". */
public enum ColorMode {
    RGB(3),
    L(1);

    private final int channels;

    ColorMode(int channels) {
        this.channels = channels;
    }

    public int channels() {
        return channels;
    }

    /** The mode for a model's input channel count: 3 is RGB, 1 is L. */
    public static ColorMode forChannels(int channels) {
        return switch (channels) {
            case 3 -> RGB;
            case 1 -> L;
            default -> throw new IllegalArgumentException("images have 1 (L) or 3 (RGB) channels, not " + channels);
        };
    }
}
