package dev.vitjava.cli;

import dev.vitjava.engine.BatchRunner;
import dev.vitjava.image.Interpolation;
import java.util.function.DoublePredicate;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/**
 * Option values checked while the command line is parsed, so that a bad one is a usage error (exit code 2, one
 * line naming the option) like an unknown option.
 */
final class OptionValues {

    private OptionValues() {
    }

    /** A whole number of at least 1 (batch sizes, top-k, counts). */
    static final class Positive implements ITypeConverter<Integer> {
        @Override
        public Integer convert(String value) {
            return between(value, 1, Integer.MAX_VALUE);
        }
    }

    /** A whole number of at least 0 (0: not given, e.g. --num-heads). */
    static final class NonNegative implements ITypeConverter<Integer> {
        @Override
        public Integer convert(String value) {
            return between(value, 0, Integer.MAX_VALUE);
        }
    }

    /** A batch size: 1 to {@link BatchRunner#MAX_BATCH} (a larger one only costs memory). */
    static final class BatchSize implements ITypeConverter<Integer> {
        @Override
        public Integer convert(String value) {
            return between(value, 1, BatchRunner.MAX_BATCH);
        }
    }

    /** A positive whole number up to {@link Long#MAX_VALUE} (pixel limits). */
    static final class PositiveLong implements ITypeConverter<Long> {
        @Override
        public Long convert(String value) {
            long v = whole(value);
            if (v < 1) {
                throw new TypeConversionException("must be positive, not " + value);
            }
            return v;
        }
    }

    /** A finite number (means). */
    static final class Finite implements ITypeConverter<Double> {
        @Override
        public Double convert(String value) {
            return number(value, Double::isFinite, "a finite number");
        }
    }

    /** A finite number above zero (standard deviations). */
    static final class PositiveFinite implements ITypeConverter<Double> {
        @Override
        public Double convert(String value) {
            return number(value, v -> v > 0 && Double.isFinite(v), "a finite number above 0");
        }
    }

    /** timm's crop_pct: in (0, 1]. */
    static final class CropPct implements ITypeConverter<Double> {
        @Override
        public Double convert(String value) {
            return number(value, v -> v > 0 && v <= 1, "in (0, 1]");
        }
    }

    /** An image height and width. */
    record Size(int height, int width) {
    }

    /** An image size: N, or H,W (or HxW), each from 1 to 16384. */
    static final class ImageSize implements ITypeConverter<Size> {
        @Override
        public Size convert(String value) {
            try {
                String[] parts = value.split("[,x]");
                int h = Integer.parseInt(parts[0].strip());
                int w = parts.length > 1 ? Integer.parseInt(parts[1].strip()) : h;
                if (parts.length <= 2 && h > 0 && w > 0 && h <= 16384 && w <= 16384) {
                    return new Size(h, w);
                }
            } catch (NumberFormatException e) {
                // the message below
            }
            throw new TypeConversionException("must be N or H,W with sizes from 1 to 16384, not '" + value + "'");
        }
    }

    /** PIL's resize filters by name. */
    static final class Filter implements ITypeConverter<Interpolation> {
        @Override
        public Interpolation convert(String value) {
            try {
                return Interpolation.parse(value);
            } catch (IllegalArgumentException e) {
                throw new TypeConversionException(e.getMessage());
            }
        }
    }

    private static int between(String value, int min, int max) {
        long v = whole(value);
        if (v < min || v > max) {
            throw new TypeConversionException("must be a whole number from " + min + " to " + max + ", not " + value);
        }
        return (int) v;
    }

    private static long whole(String value) {
        try {
            return Long.parseLong(value.strip());
        } catch (NumberFormatException e) {
            throw new TypeConversionException("'" + value + "' is not a whole number");
        }
    }

    private static double number(String value, DoublePredicate valid, String what) {
        double v;
        try {
            v = Double.parseDouble(value.strip());
        } catch (NumberFormatException e) {
            throw new TypeConversionException("'" + value + "' is not a number");
        }
        if (!valid.test(v)) {
            throw new TypeConversionException("must be " + what + ", not " + value);
        }
        return v;
    }
}
