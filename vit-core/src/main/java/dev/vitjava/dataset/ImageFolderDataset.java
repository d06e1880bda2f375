package dev.vitjava.dataset;

import dev.vitjava.VitException;
import dev.vitjava.image.DecodedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Stream;

/**
 * torchvision's ImageFolder: one sub-directory per class, classes in sorted order, image files (by extension)
 * found recursively and sorted, so indices match what PyTorch would assign.
 */
public final class ImageFolderDataset implements Dataset {

    /** torchvision's IMG_EXTENSIONS plus GIF, which the decoder reads too. */
    public static final Set<String> EXTENSIONS = Set.of("jpg", "jpeg", "png", "ppm", "bmp", "pgm", "tif", "tiff",
            "webp", "gif");

    private final List<String> classNames;
    private final List<Path> files = new ArrayList<>();
    private final List<Integer> labels = new ArrayList<>();
    private final Function<Path, DecodedImage> decoder;

    public ImageFolderDataset(Path root, Function<Path, DecodedImage> decoder) {
        this.decoder = decoder;
        if (!Files.isDirectory(root)) {
            throw new VitException(root + ": not a directory");
        }
        try (Stream<Path> dirs = Files.list(root)) {
            classNames = dirs.filter(Files::isDirectory).map(p -> p.getFileName().toString())
                    .filter(n -> !n.startsWith(".")).sorted().toList();
        } catch (IOException e) {
            throw new VitException(root + ": cannot list: " + e.getMessage());
        }
        if (classNames.isEmpty()) {
            throw new VitException(root + ": no class sub-directories (expected ImageFolder layout root/<class>/<image>)");
        }
        for (int c = 0; c < classNames.size(); c++) {
            for (Path f : imagesUnder(root.resolve(classNames.get(c)))) {
                files.add(f);
                labels.add(c);
            }
        }
        if (files.isEmpty()) {
            throw new VitException(root + ": no image files in its class directories");
        }
    }

    /** Image files under a directory, recursively, in sorted order. */
    public static List<Path> imagesUnder(Path dir) {
        try (Stream<Path> walk = Files.walk(dir)) {
            return walk.filter(Files::isRegularFile).filter(ImageFolderDataset::isImage).sorted().toList();
        } catch (IOException e) {
            throw new VitException(dir + ": cannot list: " + e.getMessage());
        }
    }

    public static boolean isImage(Path p) {
        String name = p.getFileName().toString();
        int dot = name.lastIndexOf('.');
        return dot > 0 && EXTENSIONS.contains(name.substring(dot + 1).toLowerCase(Locale.ROOT));
    }

    @Override
    public int size() {
        return files.size();
    }

    @Override
    public List<String> classNames() {
        return classNames;
    }

    @Override
    public int label(int i) {
        return labels.get(i);
    }

    @Override
    public String name(int i) {
        return files.get(i).toString();
    }

    @Override
    public DecodedImage image(int i) {
        return decoder.apply(files.get(i));
    }
}
