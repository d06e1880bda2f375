package dev.vitjava.dataset;

import dev.vitjava.VitException;
import dev.vitjava.image.DecodedImage;
import dev.vitjava.io.Printable;
import dev.vitjava.io.SafeFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileSystemLoopException;
import java.nio.file.FileVisitOption;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.EnumSet;
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
    private final List<String> problems;

    public ImageFolderDataset(Path root, Function<Path, DecodedImage> decoder) {
        this.decoder = decoder;
        if (!Files.isDirectory(root)) {
            throw new VitException(root + ": not a directory");
        }
        try (Stream<Path> dirs = Files.list(root)) {
            classNames = dirs.filter(Files::isDirectory).map(p -> p.getFileName().toString())
                    .filter(n -> !n.startsWith(".")).sorted().toList();
        } catch (IOException | UncheckedIOException e) {
            throw new VitException(root + ": cannot list: " + e.getMessage());
        }
        if (classNames.isEmpty()) {
            throw new VitException(root + ": no class sub-directories (expected ImageFolder layout root/<class>/<image>)");
        }
        List<String> problems = new ArrayList<>();
        for (int c = 0; c < classNames.size(); c++) {
            Listing found = imagesUnder(root.resolve(classNames.get(c)));
            problems.addAll(found.problems());
            for (Path f : found.files()) {
                files.add(f);
                labels.add(c);
            }
        }
        this.problems = List.copyOf(problems);
        if (files.isEmpty()) {
            throw new VitException(root + ": no image files in its class directories"
                    + (problems.isEmpty() ? "" : " (" + problems.get(0) + ")"));
        }
    }

    /** Image files found under a directory, and what could not be listed (one line each, naming the path). */
    public record Listing(List<Path> files, List<String> problems) {
    }

    /**
     * Image files under a directory, recursively and in sorted order, following symbolic links as torchvision's
     * ImageFolder does ({@code os.walk(followlinks=True)}). A link back into the tree (a loop) or a directory that
     * cannot be read is skipped and reported, so one bad directory does not cost the rest.
     */
    public static Listing imagesUnder(Path dir) {
        List<Path> found = new ArrayList<>();
        List<String> problems = new ArrayList<>();
        try {
            Files.walkFileTree(dir, EnumSet.of(FileVisitOption.FOLLOW_LINKS), Integer.MAX_VALUE,
                    new SimpleFileVisitor<>() {
                        @Override
                        public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
                            if (attrs.isRegularFile() && isImage(file)) {
                                found.add(file);
                            }
                            return FileVisitResult.CONTINUE;
                        }

                        @Override
                        public FileVisitResult visitFileFailed(Path file, IOException e) {
                            problems.add(Printable.escape(file.toString()) + ": " + (e instanceof FileSystemLoopException
                                    ? "symbolic link loop, skipped" : "cannot read: " + SafeFiles.describe(e)));
                            return FileVisitResult.CONTINUE;
                        }

                        @Override
                        public FileVisitResult postVisitDirectory(Path d, IOException e) {
                            if (e != null) {
                                problems.add(Printable.escape(d.toString()) + ": cannot list: " + SafeFiles.describe(e));
                            }
                            return FileVisitResult.CONTINUE;
                        }
                    });
        } catch (IOException e) {
            throw new VitException(dir + ": cannot list: " + SafeFiles.describe(e));
        }
        found.sort(null);
        return new Listing(List.copyOf(found), List.copyOf(problems));
    }

    /** Directories and links that could not be listed, one line each; their images are not in the dataset. */
    public List<String> problems() {
        return problems;
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
