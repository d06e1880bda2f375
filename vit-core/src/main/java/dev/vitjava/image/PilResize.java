package dev.vitjava.image;

/**
 * {@code PIL.Image.resize} as Pillow 9.4 computes it, bit for bit, for 8-bit L and RGB images.
 *
 * <p>All filters but NEAREST go through libImaging/Resample.c: a separable convolution, horizontal pass first and
 * then vertical, whose filter support widens with the downscale factor (so downscaling antialiases). Weights are
 * computed in double, normalised by their sum, then rounded to fixed point with 22 fractional bits; each pass
 * accumulates in a 32-bit int starting at one half and clips to 0..255, so the intermediate image is 8-bit too.
 * The horizontal pass only covers the rows the vertical pass reads, and a pass is skipped when its dimension
 * does not change. NEAREST goes through libImaging/Geometry.c's affine scaling instead: source coordinate
 * {@code (x + 0.5) * in / out}, accumulated in double across the row, truncated.
 */
public final class PilResize {

    /** Fixed-point fraction bits: 32 bits minus 8 for the result minus 2 for overflow of negative lobes. */
    private static final int PRECISION_BITS = 32 - 8 - 2;

    private PilResize() {
    }

    /** {@code image.resize((width, height), filter)} with PIL's default box (the whole image) and no reducing gap. */
    public static DecodedImage resize(DecodedImage image, int width, int height, Interpolation filter) {
        if (width <= 0 || height <= 0) {
            throw new IllegalArgumentException("resize target must be positive, got " + width + "x" + height);
        }
        if (width == image.width() && height == image.height()) {
            return image;
        }
        if (filter == Interpolation.NEAREST) {
            return nearest(image, width, height);
        }
        return resample(image, width, height, filter);
    }

    // ---- filters (Resample.c); the float constants in hamming are C floats promoted to double ----

    private static double support(Interpolation f) {
        return switch (f) {
            case BOX -> 0.5;
            case BILINEAR, HAMMING -> 1.0;
            case BICUBIC -> 2.0;
            case LANCZOS -> 3.0;
            case NEAREST -> throw new AssertionError();
        };
    }

    private static double filter(Interpolation f, double x) {
        switch (f) {
            case BOX:
                return x > -0.5 && x <= 0.5 ? 1.0 : 0.0;
            case BILINEAR:
                if (x < 0.0) {
                    x = -x;
                }
                return x < 1.0 ? 1.0 - x : 0.0;
            case HAMMING:
                if (x < 0.0) {
                    x = -x;
                }
                if (x == 0.0) {
                    return 1.0;
                }
                if (x >= 1.0) {
                    return 0.0;
                }
                x = x * Math.PI;
                return StrictMath.sin(x) / x * ((double) 0.54f + (double) 0.46f * StrictMath.cos(x));
            case BICUBIC: {
                final double a = -0.5;
                if (x < 0.0) {
                    x = -x;
                }
                if (x < 1.0) {
                    return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
                }
                if (x < 2.0) {
                    return (((x - 5) * x + 8) * x - 4) * a;
                }
                return 0.0;
            }
            case LANCZOS:
                if (-3.0 <= x && x < 3.0) {
                    return sinc(x) * sinc(x / 3);
                }
                return 0.0;
            default:
                throw new AssertionError(f);
        }
    }

    private static double sinc(double x) {
        if (x == 0.0) {
            return 1.0;
        }
        x = x * Math.PI;
        return StrictMath.sin(x) / x;
    }

    /** Per output pixel: first input index, number of taps, and fixed-point weights ({@code ksize} per pixel). */
    private record Coeffs(int ksize, int[] bounds, int[] kk) {
    }

    /** {@code precompute_coeffs} then {@code normalize_coeffs_8bpc}, for the box (0, inSize). */
    private static Coeffs coeffs(int inSize, int outSize, Interpolation f) {
        float in0 = 0f;
        float in1 = inSize;
        double scale = (double) (in1 - in0) / outSize;
        double filterscale = scale < 1.0 ? 1.0 : scale;
        double support = support(f) * filterscale;
        int ksize = (int) Math.ceil(support) * 2 + 1;
        int[] bounds = new int[outSize * 2];
        int[] kk = new int[outSize * ksize];
        double[] k = new double[ksize];
        for (int xx = 0; xx < outSize; xx++) {
            double center = in0 + (xx + 0.5) * scale;
            double ww = 0.0;
            double ss = 1.0 / filterscale;
            int xmin = (int) (center - support + 0.5);
            if (xmin < 0) {
                xmin = 0;
            }
            int xmax = (int) (center + support + 0.5);
            if (xmax > inSize) {
                xmax = inSize;
            }
            xmax -= xmin;
            for (int x = 0; x < xmax; x++) {
                double w = filter(f, (x + xmin - center + 0.5) * ss);
                k[x] = w;
                ww += w;
            }
            for (int x = 0; x < xmax; x++) {
                double w = ww != 0.0 ? k[x] / ww : k[x];
                kk[xx * ksize + x] = w < 0
                        ? (int) (-0.5 + w * (1 << PRECISION_BITS))
                        : (int) (0.5 + w * (1 << PRECISION_BITS));
            }
            bounds[xx * 2] = xmin;
            bounds[xx * 2 + 1] = xmax;
        }
        return new Coeffs(ksize, bounds, kk);
    }

    /** {@code clip8}: drop the fraction bits and clamp to a byte (Pillow uses a lookup table with the same result). */
    private static byte clip8(int ss) {
        int v = ss >> PRECISION_BITS;
        return (byte) (v < 0 ? 0 : Math.min(v, 255));
    }

    /** {@code ImagingResampleInner}. */
    private static DecodedImage resample(DecodedImage in, int xsize, int ysize, Interpolation f) {
        int c = in.channels();
        boolean needHorizontal = xsize != in.width();
        boolean needVertical = ysize != in.height();

        Coeffs vert = coeffs(in.height(), ysize, f);
        int[] boundsVert = vert.bounds();
        int yboxFirst = boundsVert[0];
        int yboxLast = boundsVert[ysize * 2 - 2] + boundsVert[ysize * 2 - 1];

        byte[] src = in.pixels();
        int srcW = in.width();
        int srcH = in.height();
        if (needHorizontal) {
            Coeffs horiz = coeffs(in.width(), xsize, f);
            for (int i = 0; i < ysize; i++) {
                boundsVert[i * 2] -= yboxFirst;
            }
            int rows = yboxLast - yboxFirst;
            byte[] tmp = new byte[rows * xsize * c];
            horizontal(src, srcW, c, yboxFirst, rows, xsize, horiz, tmp);
            src = tmp;
            srcW = xsize;
            srcH = rows;
        }
        if (needVertical) {
            byte[] out = new byte[ysize * srcW * c];
            vertical(src, srcW, c, ysize, vert, out);
            return new DecodedImage(srcW, ysize, in.mode(), out);
        }
        return new DecodedImage(srcW, srcH, in.mode(), src);
    }

    private static void horizontal(byte[] src, int srcW, int c, int offset, int rows, int xsize, Coeffs co,
            byte[] out) {
        int ksize = co.ksize();
        int[] bounds = co.bounds();
        int[] kk = co.kk();
        int half = 1 << (PRECISION_BITS - 1);
        for (int yy = 0; yy < rows; yy++) {
            int rowBase = (yy + offset) * srcW * c;
            int outBase = yy * xsize * c;
            for (int xx = 0; xx < xsize; xx++) {
                int xmin = bounds[xx * 2];
                int xmax = bounds[xx * 2 + 1];
                int kBase = xx * ksize;
                for (int b = 0; b < c; b++) {
                    int ss = half;
                    int p = rowBase + xmin * c + b;
                    for (int x = 0; x < xmax; x++, p += c) {
                        ss += (src[p] & 0xff) * kk[kBase + x];
                    }
                    out[outBase + xx * c + b] = clip8(ss);
                }
            }
        }
    }

    private static void vertical(byte[] src, int width, int c, int ysize, Coeffs co, byte[] out) {
        int ksize = co.ksize();
        int[] bounds = co.bounds();
        int[] kk = co.kk();
        int half = 1 << (PRECISION_BITS - 1);
        int stride = width * c;
        int[] acc = new int[stride];
        for (int yy = 0; yy < ysize; yy++) {
            int ymin = bounds[yy * 2];
            int ymax = bounds[yy * 2 + 1];
            int kBase = yy * ksize;
            java.util.Arrays.fill(acc, half);
            for (int y = 0; y < ymax; y++) {
                int k = kk[kBase + y];
                int rowBase = (y + ymin) * stride;
                for (int i = 0; i < stride; i++) {
                    acc[i] += (src[rowBase + i] & 0xff) * k;
                }
            }
            int outBase = yy * stride;
            for (int i = 0; i < stride; i++) {
                out[outBase + i] = clip8(acc[i]);
            }
        }
    }

    /** {@code ImagingScaleAffine} with fill: nearest neighbour, positions accumulated in double as Pillow does. */
    private static DecodedImage nearest(DecodedImage in, int xsize, int ysize) {
        int c = in.channels();
        double a0 = (double) (float) in.width() / xsize;
        double a4 = (double) (float) in.height() / ysize;
        int[] xintab = new int[xsize];
        int xmin = xsize;
        int xmax = 0;
        double xo = 0.0 + a0 * 0.5;
        for (int x = 0; x < xsize; x++) {
            int xin = xo < 0.0 ? -1 : (int) xo;
            if (xin >= 0 && xin < in.width()) {
                xmax = x + 1;
                if (x < xmin) {
                    xmin = x;
                }
                xintab[x] = xin;
            }
            xo += a0;
        }
        byte[] src = in.pixels();
        byte[] out = new byte[xsize * ysize * c];
        double yo = 0.0 + a4 * 0.5;
        for (int y = 0; y < ysize; y++) {
            int yi = yo < 0.0 ? -1 : (int) yo;
            if (yi >= 0 && yi < in.height()) {
                int rowBase = yi * in.width() * c;
                int outBase = y * xsize * c;
                for (int x = xmin; x < xmax; x++) {
                    System.arraycopy(src, rowBase + xintab[x] * c, out, outBase + x * c, c);
                }
            }
            yo += a4;
        }
        return new DecodedImage(xsize, ysize, in.mode(), out);
    }
}
