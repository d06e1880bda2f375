package dev.vitjava.image;

import dev.vitjava.VitException;
import dev.vitjava.io.SafeFiles;
import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.DirectColorModel;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import javax.imageio.IIOException;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.metadata.IIOMetadata;
import javax.imageio.stream.ImageInputStream;
import org.w3c.dom.NamedNodeMap;
import org.w3c.dom.Node;

/**
 * Reads JPEG, PNG, BMP, GIF, WebP and TIFF files into the 8-bit pixels that PIL 9.4's
 * {@code Image.open(f).convert(mode)} gives, which is what timm, torchvision and Hugging Face pipelines start from.
 *
 * <p>ImageIO (with the TwelveMonkeys plugins) does the decompression; the colour handling is PIL's, done here on
 * the raw samples, never through Java2D colour management: embedded ICC profiles and gamma are ignored, as PIL
 * ignores them. JPEGs are read without colour conversion and converted with libjpeg's own YCbCr tables; CMYK and
 * YCCK JPEGs are inverted (PIL assumes Adobe polarity) and turned into RGB with PIL's {@code cmyk2rgb}. 16-bit
 * PNGs keep the high byte, except 16-bit grayscale without alpha, which PIL opens as 32-bit "I" and clips to
 * 255. RGBA drops alpha (no compositing), palettes are looked up, and RGB becomes L with PIL's fixed-point
 * ITU-R 601-2 luma. EXIF orientation is not applied (PIL's {@code open} does not apply it either).
 *
 * <p>The image size is read from the header first and images over the pixel limit are refused before any pixel is
 * decoded; the default limit is PIL's {@code MAX_IMAGE_PIXELS}. Every failure is a one-line {@link VitException}
 * that names the file.
 */
public final class ImageDecoder {

    /** PIL's {@code Image.MAX_IMAGE_PIXELS}: 1024 * 1024 * 1024 // 4 // 3. */
    public static final long DEFAULT_MAX_PIXELS = 89_478_485L;

    private static final String SUPPORTED = "JPEG, PNG, BMP, GIF, WebP or TIFF";
    /** What PIL-exact decoding is implemented and tested for; ImageIO also offers WBMP and others. */
    private static final Set<String> SUPPORTED_FORMATS = Set.of("JPEG", "PNG", "BMP", "GIF", "WebP", "TIFF");

    static {
        ImageIO.setUseCache(false);
        ImageIO.scanForPlugins();
    }

    private final long maxPixels;

    public ImageDecoder() {
        this(DEFAULT_MAX_PIXELS);
    }

    /** A decoder that refuses images with more than {@code maxPixels} pixels (width times height). */
    public ImageDecoder(long maxPixels) {
        if (maxPixels <= 0) {
            throw new IllegalArgumentException("pixel limit must be positive, got " + maxPixels);
        }
        this.maxPixels = maxPixels;
    }

    public long maxPixels() {
        return maxPixels;
    }

    /** {@code Image.open(file).convert(mode)}. */
    public DecodedImage decode(Path file, ColorMode mode) {
        return decode(file).convert(mode);
    }

    /** {@code Image.open(file).convert("RGB")}. */
    public DecodedImage decodeRgb(Path file) {
        return decode(file, ColorMode.RGB);
    }

    /**
     * The image in its natural mode: L for grayscale files (8-bit, 16-bit or low bit depth), RGB for everything
     * else. {@link DecodedImage#convert} then gives PIL's result for either mode.
     */
    public DecodedImage decode(Path file) {
        return decode(file, file.toString());
    }

    /** {@link #decode(Path)}, with {@code name} for the file in error messages. */
    public DecodedImage decode(Path file, String name) {
        if (SafeFiles.requireRegularFile(file, Long.MAX_VALUE) == 0) {
            throw new VitException(name + ": empty file, not an image");
        }
        ImageInputStream in;
        try {
            in = ImageIO.createImageInputStream(file.toFile());
        } catch (IOException e) {
            throw new VitException(name + ": cannot read: " + e.getMessage(), e);
        }
        if (in == null) {
            throw new VitException(name + ": cannot read");
        }
        return decode(in, name);
    }

    /** Decodes an in-memory file; {@code name} is used in error messages. */
    public DecodedImage decode(byte[] data, String name) {
        if (data.length == 0) {
            throw new VitException(name + ": empty file, not an image");
        }
        checkRiffLength(data, data.length, name);
        ImageInputStream in;
        try {
            in = ImageIO.createImageInputStream(new ByteArrayInputStream(data));
        } catch (IOException e) {
            throw new VitException(name + ": cannot read: " + e.getMessage(), e);
        }
        return decode(in, name);
    }

    private DecodedImage decode(ImageInputStream raw, String name) {
        try (ImageInputStream in = new BoundedEofStream(raw)) {
            Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
            if (!readers.hasNext()) {
                throw new VitException(name + ": not a supported image (expected " + SUPPORTED + ")");
            }
            ImageReader reader = readers.next();
            String format = formatName(reader);
            if (!SUPPORTED_FORMATS.contains(format)) {
                reader.dispose();
                throw new VitException(name + ": " + format + " images are not supported (expected " + SUPPORTED
                        + ")");
            }
            try {
                return read(reader, format, in, name);
            } catch (VitException e) {
                throw e;
            } catch (IOException | RuntimeException e) {
                throw new VitException(name + ": corrupt or truncated " + format + " image (" + describe(e) + ")", e);
            } catch (OutOfMemoryError e) {
                throw new VitException(name + ": not enough memory to decode this " + format + " image (give Java a "
                        + "larger heap with -Xmx, or lower the pixel limit)");
            } finally {
                reader.dispose();
            }
        } catch (IOException e) {
            throw new VitException(name + ": cannot read: " + e.getMessage(), e);
        }
    }

    private DecodedImage read(ImageReader reader, String format, ImageInputStream in, String name)
            throws IOException {
        JpegHeader jpeg = null;
        if (format.equals("JPEG")) {
            jpeg = JpegHeader.read(in);
            in.seek(0);
            if (jpeg.precision() != 8) {
                throw new VitException(name + ": " + jpeg.precision() + "-bit JPEG is not supported (PIL reads "
                        + "8-bit JPEGs only)");
            }
            if (jpeg.sofMarker() == 0xC3) {
                throw new VitException(name + ": lossless JPEG is not supported (PIL cannot read it either)");
            }
            if (jpeg.space() == JpegHeader.Space.UNKNOWN) {
                throw new VitException(name + ": JPEG with " + jpeg.componentIds().length
                        + " components is not supported (PIL reads 1, 3 or 4)");
            }
        }
        if (format.equals("WebP")) {
            checkRiffLength(in, name);
        }
        // metadata is only needed for GIF's frame placement; skipping it elsewhere avoids parsing (and inflating)
        // text chunks and EXIF blocks
        reader.setInput(in, true, !format.equals("GIF"));
        List<String> warnings = new ArrayList<>();
        reader.addIIOReadWarningListener((source, warning) -> warnings.add(warning));

        int width = reader.getWidth(0);
        int height = reader.getHeight(0);
        int canvasW = width;
        int canvasH = height;
        GifFrame gif = null;
        if (format.equals("GIF")) {
            gif = GifFrame.of(reader, width, height);
            canvasW = gif.canvasWidth();
            canvasH = gif.canvasHeight();
        }
        checkSize(name, canvasW, canvasH);

        DecodedImage image;
        if (jpeg != null) {
            Raster raster = reader.readRaster(0, null);
            checkJpegWarnings(name, warnings);
            image = JpegColor.convert(raster, jpeg);
        } else {
            BufferedImage bi = reader.read(0);
            if (gif != null) {
                image = gif.render(bi);
            } else {
                image = fromRaster(name, bi.getRaster(), bi.getColorModel());
            }
        }
        if (image.width() != canvasW || image.height() != canvasH) {
            throw new VitException(name + ": decoder returned " + image.width() + "x" + image.height()
                    + " pixels for a " + canvasW + "x" + canvasH + " image");
        }
        return image;
    }

    private void checkSize(String name, int width, int height) {
        if (width <= 0 || height <= 0) {
            throw new VitException(name + ": image has zero size (" + width + "x" + height + ")");
        }
        long pixels = (long) width * height;
        if (pixels > maxPixels) {
            throw new VitException(name + ": image is " + width + "x" + height + " = " + pixels
                    + " pixels, over the limit of " + maxPixels + " (a decompression bomb? raise the pixel limit "
                    + "if the file is trusted)");
        }
    }

    /** The WebP decoder fills a truncated lossless image with zeros; libwebp (and so PIL) refuses it. */
    private static void checkRiffLength(ImageInputStream in, String name) throws IOException {
        long length = in.length();
        if (length < 0) {
            return; // in-memory input: checked by decode(byte[], String)
        }
        in.seek(0);
        byte[] head = new byte[12];
        in.readFully(head);
        in.seek(0);
        checkRiffLength(head, length, name);
    }

    private static void checkRiffLength(byte[] head, long length, String name) {
        if (head.length < 12 || head[0] != 'R' || head[1] != 'I' || head[2] != 'F' || head[3] != 'F'
                || head[8] != 'W' || head[9] != 'E' || head[10] != 'B' || head[11] != 'P') {
            return;
        }
        long riff = (head[4] & 0xffL) | (head[5] & 0xffL) << 8 | (head[6] & 0xffL) << 16 | (head[7] & 0xffL) << 24;
        if (riff + 8 > length) {
            throw new VitException(name + ": truncated WebP image (RIFF header says " + (riff + 8) + " bytes, the "
                    + "file has " + length + ")");
        }
    }

    /** libjpeg only warns on a truncated file and pads with grey; PIL refuses it, and so do we. */
    private static void checkJpegWarnings(String name, List<String> warnings) {
        for (String w : warnings) {
            String lower = w.toLowerCase(Locale.ROOT);
            if (lower.contains("premature end") || lower.contains("missing eoi") || lower.contains("truncated")) {
                throw new VitException(name + ": truncated JPEG image (" + w.trim() + ")");
            }
        }
    }

    private static String formatName(ImageReader reader) {
        String n = reader.getOriginatingProvider() != null
                ? reader.getOriginatingProvider().getFormatNames()[0] : "image";
        n = n.toUpperCase(Locale.ROOT);
        return switch (n) {
            case "JPG", "JPEG", "JFIF", "JPEG-LOSSLESS" -> "JPEG";
            case "WEBP" -> "WebP";
            case "TIF" -> "TIFF";
            default -> n;
        };
    }

    private static String describe(Throwable e) {
        StringBuilder sb = new StringBuilder();
        for (Throwable t = e; t != null && sb.length() < 300; t = t.getCause()) {
            String m = t.getMessage();
            if (m == null || m.isBlank()) {
                m = t.getClass().getSimpleName();
            }
            m = m.replaceAll("\\s+", " ").trim();
            if (sb.indexOf(m) < 0) {
                if (!sb.isEmpty()) {
                    sb.append(": ");
                }
                sb.append(m);
            }
            if (t instanceof IIOException && t.getCause() == null) {
                break;
            }
        }
        return sb.toString();
    }

    // ---- generic rasters: PNG, BMP, WebP ----

    /** Converts raw samples as PIL's unpackers and {@code convert} would, without Java2D colour management. */
    static DecodedImage fromRaster(String name, Raster raster, ColorModel cm) {
        int w = raster.getWidth();
        int h = raster.getHeight();
        if (cm instanceof IndexColorModel icm) {
            return fromPalette(raster, icm, -1, 0, 0, w, h);
        }
        int colors = cm.getNumColorComponents();
        int type = cm.getColorSpace().getType();
        ColorMode mode;
        if (colors == 1 && type == ColorSpace.TYPE_GRAY) {
            mode = ColorMode.L;
        } else if (colors == 3 && type == ColorSpace.TYPE_RGB) {
            mode = ColorMode.RGB;
        } else {
            throw new VitException(name + ": unsupported colour model (" + colors + " colour components, colour "
                    + "space type " + type + ")");
        }
        int bands = raster.getNumBands();
        int c = mode.channels();
        int[] shifts = new int[c];
        int[] max = new int[c];
        boolean packed = cm instanceof DirectColorModel;
        boolean clip = !packed && mode == ColorMode.L && !cm.hasAlpha() && cm.getComponentSize(0) == 16;
        for (int b = 0; b < c; b++) {
            int bits = cm.getComponentSize(b);
            max[b] = (1 << bits) - 1;
            // 16-bit (and other deep) component samples keep their high byte, as PIL's ";16B" unpackers do
            shifts[b] = !packed && bits > 8 ? bits - 8 : 0;
        }
        byte[] out = new byte[w * h * c];
        int[] row = new int[w * bands];
        for (int y = 0; y < h; y++) {
            raster.getPixels(0, y, w, 1, row);
            int o = y * w * c;
            for (int x = 0; x < w; x++) {
                int p = x * bands;
                for (int b = 0; b < c; b++) {
                    int v = row[p + b];
                    if (clip) {
                        v = Math.min(v, 255); // PIL: 16-bit grey opens as mode "I", convert clips to 0..255
                    } else if (shifts[b] > 0) {
                        v >>= shifts[b];
                    } else if (max[b] != 255) {
                        v = v * 255 / max[b]; // PIL's unpackers for 5/6-bit and low-depth samples truncate
                    }
                    out[o + x * c + b] = (byte) v;
                }
            }
        }
        return new DecodedImage(w, h, mode, out);
    }

    /** Looks indices up in the palette; a transparent index keeps its palette colour, as in PIL's P to RGB. */
    static DecodedImage fromPalette(Raster raster, IndexColorModel icm, int fill, int x0, int y0, int canvasW,
            int canvasH) {
        int size = icm.getMapSize();
        int[] rgb = new int[256];
        for (int i = 0; i < Math.min(size, 256); i++) {
            rgb[i] = (icm.getRed(i) << 16) | (icm.getGreen(i) << 8) | icm.getBlue(i);
        }
        int w = raster.getWidth();
        int h = raster.getHeight();
        byte[] out = new byte[canvasW * canvasH * 3];
        if (fill >= 0) {
            int v = rgb[fill & 0xff];
            for (int i = 0; i < canvasW * canvasH; i++) {
                out[i * 3] = (byte) (v >> 16);
                out[i * 3 + 1] = (byte) (v >> 8);
                out[i * 3 + 2] = (byte) v;
            }
        }
        int[] row = new int[w];
        for (int y = 0; y < h; y++) {
            int cy = y + y0;
            if (cy < 0 || cy >= canvasH) {
                continue;
            }
            raster.getSamples(0, y, w, 1, 0, row);
            for (int x = 0; x < w; x++) {
                int cx = x + x0;
                if (cx < 0 || cx >= canvasW) {
                    continue;
                }
                int v = rgb[row[x] & 0xff];
                int o = (cy * canvasW + cx) * 3;
                out[o] = (byte) (v >> 16);
                out[o + 1] = (byte) (v >> 8);
                out[o + 2] = (byte) v;
            }
        }
        return new DecodedImage(canvasW, canvasH, ColorMode.RGB, out);
    }

    // ---- GIF: PIL draws the first frame on the logical screen ----

    /** The first GIF frame's place on the logical screen, and the palette index PIL fills the rest with. */
    private record GifFrame(int canvasWidth, int canvasHeight, int left, int top, int fillIndex) {

        static GifFrame of(ImageReader reader, int frameW, int frameH) throws IOException {
            int screenW = frameW;
            int screenH = frameH;
            IIOMetadata stream = reader.getStreamMetadata();
            Node screen = find(stream, "javax_imageio_gif_stream_1.0", "LogicalScreenDescriptor");
            if (screen != null) {
                screenW = intAttr(screen, "logicalScreenWidth", frameW);
                screenH = intAttr(screen, "logicalScreenHeight", frameH);
            }
            IIOMetadata image = reader.getImageMetadata(0);
            Node desc = find(image, "javax_imageio_gif_image_1.0", "ImageDescriptor");
            int left = desc != null ? intAttr(desc, "imageLeftPosition", 0) : 0;
            int top = desc != null ? intAttr(desc, "imageTopPosition", 0) : 0;
            Node gce = find(image, "javax_imageio_gif_image_1.0", "GraphicControlExtension");
            int fill = 0;
            if (gce != null && "TRUE".equalsIgnoreCase(attr(gce, "transparentColorFlag"))) {
                fill = intAttr(gce, "transparentColorIndex", 0);
            }
            // PIL grows the canvas to hold a frame that sticks out of the logical screen
            int canvasW = Math.max(screenW, left + frameW);
            int canvasH = Math.max(screenH, top + frameH);
            return new GifFrame(canvasW, canvasH, left, top, fill);
        }

        DecodedImage render(BufferedImage frame) {
            if (!(frame.getColorModel() instanceof IndexColorModel icm)) {
                DecodedImage img = fromRaster("GIF", frame.getRaster(), frame.getColorModel());
                if (left == 0 && top == 0 && img.width() == canvasWidth && img.height() == canvasHeight) {
                    return img;
                }
                throw new VitException("GIF frame without a palette placed inside a larger screen is not supported");
            }
            return fromPalette(frame.getRaster(), icm, fillIndex, left, top, canvasWidth, canvasHeight);
        }

        private static Node find(IIOMetadata metadata, String format, String child) {
            if (metadata == null) {
                return null;
            }
            try {
                Node root = metadata.getAsTree(format);
                for (Node n = root.getFirstChild(); n != null; n = n.getNextSibling()) {
                    if (n.getNodeName().equals(child)) {
                        return n;
                    }
                }
            } catch (IllegalArgumentException e) {
                return null;
            }
            return null;
        }

        private static String attr(Node node, String name) {
            NamedNodeMap attrs = node.getAttributes();
            Node a = attrs == null ? null : attrs.getNamedItem(name);
            return a == null ? null : a.getNodeValue();
        }

        private static int intAttr(Node node, String name, int fallback) {
            String v = attr(node, name);
            try {
                return v == null ? fallback : Integer.parseInt(v.trim());
            } catch (NumberFormatException e) {
                return fallback;
            }
        }
    }
}
