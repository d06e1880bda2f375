package dev.vitjava.dataset;

import dev.vitjava.VitException;
import dev.vitjava.io.SafeFiles;
import dev.vitjava.image.ColorMode;
import dev.vitjava.image.DecodedImage;
import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.zip.GZIPInputStream;

/**
 * The IDX format of MNIST and Fashion-MNIST: big-endian magic (0x0803 for images, 0x0801 for labels), dimension
 * sizes, then unsigned bytes; gzipped or not. The labels file is found beside the images by the standard naming
 * ({@code …-images-idx3-ubyte[.gz]} → {@code …-labels-idx1-ubyte[.gz]}) unless given.
 */
public final class IdxDataset implements Dataset {

    private final Path imagesFile;
    private final int count;
    private final int rows;
    private final int cols;
    private final byte[] pixels;
    private final byte[] labels;
    private final List<String> classNames;

    private IdxDataset(Path imagesFile, int count, int rows, int cols, byte[] pixels, byte[] labels,
            List<String> classNames) {
        this.imagesFile = imagesFile;
        this.count = count;
        this.rows = rows;
        this.cols = cols;
        this.pixels = pixels;
        this.labels = labels;
        this.classNames = classNames;
    }

    /**
     * @param labelsFile the labels, or null to find them beside the images
     * @param classNames names for the label values (e.g. the model's labels), or null for "0", "1", …
     */
    public static IdxDataset open(Path imagesFile, Path labelsFile, List<String> classNames) {
        Path lf = labelsFile != null ? labelsFile : labelsBeside(imagesFile);
        int[] imageDims = new int[3];
        byte[] pixels = read(imagesFile, 0x0803, imageDims);
        int[] labelDims = new int[1];
        byte[] labels = read(lf, 0x0801, labelDims);
        if (labelDims[0] != imageDims[0]) {
            throw new VitException(lf + ": " + labelDims[0] + " labels for " + imageDims[0] + " images in "
                    + imagesFile);
        }
        int maxLabel = 0;
        for (byte b : labels) {
            maxLabel = Math.max(maxLabel, b & 0xff);
        }
        List<String> names = classNames;
        if (names == null || names.size() <= maxLabel) {
            String[] generic = new String[maxLabel + 1];
            Arrays.setAll(generic, Integer::toString);
            names = List.of(generic);
        }
        return new IdxDataset(imagesFile, imageDims[0], imageDims[1], imageDims[2], pixels, labels, names);
    }

    static Path labelsBeside(Path images) {
        String name = images.getFileName().toString();
        String base = name.replace("-images-idx3-ubyte", "-labels-idx1-ubyte").replace("-images.idx3", "-labels.idx1");
        if (base.equals(name)) {
            throw new VitException(images + ": cannot derive the labels file name; give it with --labels-file");
        }
        String plain = base.endsWith(".gz") ? base.substring(0, base.length() - 3) : base;
        for (String candidate : List.of(base, plain, plain + ".gz")) {
            Path p = images.resolveSibling(candidate);
            if (Files.isRegularFile(p)) {
                return p;
            }
        }
        throw new VitException(images + ": no labels file " + images.resolveSibling(plain) + "[.gz] beside it; "
                + "give it with --labels-file");
    }

    /** Reads an IDX ubyte file with the given magic; fills {@code dims}; returns the data bytes. */
    private static byte[] read(Path file, int magic, int[] dims) {
        boolean gzipped = isGzip(file);
        try (DataInputStream in = new DataInputStream(new BufferedInputStream(open(file, gzipped)))) {
            int m = in.readInt();
            if (m != magic) {
                throw new VitException(file + ": not an IDX " + (magic == 0x0803 ? "images" : "labels")
                        + " file (magic 0x" + Integer.toHexString(m) + ", expected 0x0" + Integer.toHexString(magic) + ")");
            }
            long total = 1;
            for (int i = 0; i < dims.length; i++) {
                dims[i] = in.readInt();
                if (dims[i] < 0) {
                    throw new VitException(file + ": negative dimension " + dims[i]);
                }
                // saturating: three dimensions below 2^31 can overflow a long
                total = total > Integer.MAX_VALUE ? total : total * dims[i];
            }
            if (dims[0] == 0) {
                throw new VitException(file + ": empty (holds no " + (magic == 0x0803 ? "images" : "labels") + ")");
            }
            if (dims.length == 3 && (dims[1] == 0 || dims[2] == 0)) {
                throw new VitException(file + ": images of " + dims[1] + "x" + dims[2] + " pixels");
            }
            if (total > Integer.MAX_VALUE - 8) {
                throw new VitException(file + ": " + total + " bytes of data is too large");
            }
            long header = 4L + 4L * dims.length;
            if (!gzipped && Files.size(file) - header < total) {
                throw new VitException(file + ": truncated IDX file (declares " + total + " bytes of data, has "
                        + (Files.size(file) - header) + ")");
            }
            if (2 * total > Runtime.getRuntime().maxMemory()) { // the data and readNBytes's copy of it
                throw new VitException(file + ": " + total / (1 << 20) + " MiB of data does not fit in the Java heap"
                        + " (" + Runtime.getRuntime().maxMemory() / (1 << 20) + " MiB; raise -Xmx in JAVA_OPTS)");
            }
            // the declared size is not trusted with an allocation: readNBytes grows with the data that arrives
            byte[] data = in.readNBytes((int) total);
            if (data.length < total) {
                throw new VitException(file + ": truncated IDX file (declares " + total + " bytes of data, has "
                        + data.length + ")");
            }
            return data;
        } catch (EOFException e) {
            throw new VitException(file + ": truncated IDX file");
        } catch (java.util.zip.ZipException e) {
            throw new VitException(file + ": corrupt gzip data (" + e.getMessage() + ")");
        } catch (IOException e) {
            throw new VitException(file + ": cannot read: " + SafeFiles.describe(e));
        }
    }

    private static boolean isGzip(Path file) {
        SafeFiles.requireRegularFile(file, Long.MAX_VALUE);
        try (InputStream in = Files.newInputStream(file)) {
            return in.read() == 0x1f && in.read() == 0x8b;
        } catch (IOException e) {
            throw new VitException(file + ": cannot read: " + SafeFiles.describe(e));
        }
    }

    private static InputStream open(Path file, boolean gzipped) throws IOException {
        InputStream raw = Files.newInputStream(file);
        return gzipped ? new GZIPInputStream(raw, 1 << 16) : raw;
    }

    @Override
    public int size() {
        return count;
    }

    @Override
    public List<String> classNames() {
        return classNames;
    }

    @Override
    public int label(int i) {
        return labels[i] & 0xff;
    }

    @Override
    public String name(int i) {
        return imagesFile.getFileName() + "#" + i;
    }

    @Override
    public DecodedImage image(int i) {
        int n = rows * cols;
        return new DecodedImage(cols, rows, ColorMode.L, Arrays.copyOfRange(pixels, i * n, (i + 1) * n));
    }
}
