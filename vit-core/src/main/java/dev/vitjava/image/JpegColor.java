package dev.vitjava.image;

import java.awt.image.Raster;

/**
 * The colour conversion that libjpeg(-turbo) and PIL apply to a JPEG's decoded (upsampled) components: YCbCr to RGB
 * with libjpeg's integer tables (jdcolor.c), CMYK and YCCK as PIL reads them ({@code "CMYK;I"}: PIL assumes Adobe's
 * inverted polarity for every 4-component JPEG) and then PIL's {@code cmyk2rgb}.
 */
final class JpegColor {

    private static final int SCALEBITS = 16;
    private static final int ONE_HALF = 1 << (SCALEBITS - 1);
    private static final int[] CR_R = new int[256];
    private static final int[] CB_B = new int[256];
    private static final int[] CR_G = new int[256];
    private static final int[] CB_G = new int[256];

    static {
        for (int i = 0, x = -128; i < 256; i++, x++) {
            CR_R[i] = (fix(1.40200) * x + ONE_HALF) >> SCALEBITS;
            CB_B[i] = (fix(1.77200) * x + ONE_HALF) >> SCALEBITS;
            CR_G[i] = -fix(0.71414) * x;
            CB_G[i] = -fix(0.34414) * x + ONE_HALF;
        }
    }

    private JpegColor() {
    }

    private static int fix(double x) {
        return (int) (x * (1L << SCALEBITS) + 0.5);
    }

    private static int clamp(int v) {
        return v < 0 ? 0 : Math.min(v, 255);
    }

    static DecodedImage convert(Raster raster, JpegHeader header) {
        JpegHeader.Space space = header.space();
        int w = raster.getWidth();
        int h = raster.getHeight();
        int bands = raster.getNumBands();
        if (bands != header.componentIds().length) {
            throw new IllegalStateException("decoder returned " + bands + " bands for "
                    + header.componentIds().length + " JPEG components");
        }
        byte[][] refined = new byte[bands][];
        for (int b = 0; b < bands; b++) {
            if (header.verticalOnlySubsampled(b)) {
                refined[b] = fancyUpsampleH1V2(raster, b, w, h);
            }
        }
        ColorMode mode = space == JpegHeader.Space.GRAY ? ColorMode.L : ColorMode.RGB;
        int c = mode.channels();
        byte[] out = new byte[w * h * c];
        int[] row = new int[w * bands];
        for (int y = 0; y < h; y++) {
            raster.getPixels(0, y, w, 1, row);
            for (int b = 0; b < bands; b++) {
                if (refined[b] != null) {
                    for (int x = 0, q = y * w; x < w; x++, q++) {
                        row[x * bands + b] = refined[b][q] & 0xff;
                    }
                }
            }
            int o = y * w * c;
            for (int x = 0, p = 0; x < w; x++, p += bands, o += c) {
                switch (space) {
                    case GRAY -> out[o] = (byte) row[p];
                    case RGB -> {
                        out[o] = (byte) row[p];
                        out[o + 1] = (byte) row[p + 1];
                        out[o + 2] = (byte) row[p + 2];
                    }
                    case YCBCR -> {
                        int yy = row[p];
                        int cb = row[p + 1];
                        int cr = row[p + 2];
                        out[o] = (byte) clamp(yy + CR_R[cr]);
                        out[o + 1] = (byte) clamp(yy + ((CB_G[cb] + CR_G[cr]) >> SCALEBITS));
                        out[o + 2] = (byte) clamp(yy + CB_B[cb]);
                    }
                    case CMYK -> cmykToRgb(255 - row[p], 255 - row[p + 1], 255 - row[p + 2], 255 - row[p + 3],
                            out, o);
                    case YCCK -> {
                        // libjpeg's ycck_cmyk_convert, then PIL's inversion
                        int yy = row[p];
                        int cb = row[p + 1];
                        int cr = row[p + 2];
                        int cc = clamp(255 - (yy + CR_R[cr]));
                        int mm = clamp(255 - (yy + ((CB_G[cb] + CR_G[cr]) >> SCALEBITS)));
                        int ye = clamp(255 - (yy + CB_B[cb]));
                        cmykToRgb(255 - cc, 255 - mm, 255 - ye, 255 - row[p + 3], out, o);
                    }
                    default -> throw new IllegalStateException("unsupported JPEG colour space " + space);
                }
            }
        }
        return new DecodedImage(w, h, mode, out);
    }

    /**
     * libjpeg-turbo's {@code h1v2_fancy_upsample} (jdsample.c) for a component stored at half the vertical
     * resolution: each output row is 3/4 of the nearer input row plus 1/4 of the next nearer one, with the first
     * and last rows repeated at the edges. The JDK decoder replicated each input row twice, so input row r is
     * output row 2r.
     */
    private static byte[] fancyUpsampleH1V2(Raster raster, int band, int w, int h) {
        int rows = (h + 1) / 2;
        int[][] in = new int[rows][];
        for (int r = 0; r < rows; r++) {
            in[r] = raster.getSamples(0, 2 * r, w, 1, band, (int[]) null);
        }
        byte[] out = new byte[w * h];
        for (int y = 0; y < h; y++) {
            int r = y / 2;
            boolean upper = (y & 1) == 0;
            int[] near = in[r];
            int[] far = upper ? in[Math.max(r - 1, 0)] : in[Math.min(r + 1, rows - 1)];
            int bias = upper ? 1 : 2;
            for (int x = 0, o = y * w; x < w; x++, o++) {
                out[o] = (byte) ((near[x] * 3 + far[x] + bias) >> 2);
            }
        }
        return out;
    }

    /** PIL's {@code cmyk2rgb} (libImaging/Convert.c). */
    static void cmykToRgb(int c, int m, int y, int k, byte[] out, int o) {
        int nk = 255 - k;
        out[o] = (byte) clamp(nk - mulDiv255(c, nk));
        out[o + 1] = (byte) clamp(nk - mulDiv255(m, nk));
        out[o + 2] = (byte) clamp(nk - mulDiv255(y, nk));
    }

    /** PIL's {@code MULDIV255}: a * b / 255, rounded, in integer arithmetic. */
    private static int mulDiv255(int a, int b) {
        int tmp = a * b + 128;
        return ((tmp >> 8) + tmp) >> 8;
    }
}
