package dev.vitjava.spark;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.geom.AffineTransform;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import javax.imageio.ImageIO;

/**
 * A few hundred small test images made from the shipped Fashion-MNIST samples (flipped, shifted, inverted, tinted,
 * scaled, as PNG, JPEG, BMP and GIF: 303 of them), in ImageFolder layout (one directory per class, named so that
 * the sorted order is the model's label order), plus files that are no image: corrupt, truncated, empty, text, and
 * one over 2 GB.
 */
final class Fixtures {

    /** The written files: readable images, the bad ones, and links that loop (which both CLI and job skip). */
    record Tree(Path root, List<Path> good, List<Path> bad, List<Path> loops) {
        List<Path> all() {
            List<Path> all = new ArrayList<>(good);
            all.addAll(bad);
            return all;
        }
    }

    /** Fashion-MNIST's classes in label order, as the sample file names spell them. */
    private static final List<String> CLASSES = List.of("t-shirt-top", "trouser", "pullover", "dress", "coat", "sandal",
            "shirt", "sneaker", "bag", "ankle-boot");

    private Fixtures() {
    }

    static Tree write(Path root) throws IOException {
        List<Path> samples;
        try (var list = Files.list(Path.of("..", "samples"))) {
            samples = list.filter(p -> p.toString().endsWith(".png")).sorted().toList();
        }
        List<Path> good = new ArrayList<>();
        List<Path> bad = new ArrayList<>();
        Random random = new Random(18);
        for (Path sample : samples) {
            String name = sample.getFileName().toString();
            String stem = name.substring(0, name.length() - 4);
            // "0000-ankle-boot.png" goes to "9-ankle-boot/": sorted class directories in the model's label order.
            int label = CLASSES.indexOf(stem.substring(5));
            Path dir = Files.createDirectories(root.resolve(label + "-" + CLASSES.get(label)));
            BufferedImage img = ImageIO.read(sample.toFile());
            good.add(write(dir.resolve(stem + ".png"), img, "png"));
            good.add(write(dir.resolve(stem + "-flip.png"), transform(img,
                    new AffineTransform(-1, 0, 0, 1, img.getWidth(), 0)), "png"));
            good.add(write(dir.resolve(stem + "-vflip.png"), transform(img,
                    new AffineTransform(1, 0, 0, -1, 0, img.getHeight())), "png"));
            good.add(write(dir.resolve(stem + "-shift.png"), transform(img,
                    AffineTransform.getTranslateInstance(1 + random.nextInt(3), random.nextInt(3) - 1)), "png"));
            good.add(write(dir.resolve(stem + "-invert.png"), invert(img), "png"));
            good.add(write(dir.resolve(stem + "-tint.png"), tint(img, random), "png"));
            good.add(write(dir.resolve(stem + "-40.png"), scaled(img, 40), "png"));
            good.add(write(dir.resolve(stem + ".jpg"), tint(img, random), "jpg"));
            good.add(write(dir.resolve(stem + ".bmp"), img, "bmp"));
            good.add(write(dir.resolve(stem + ".gif"), scaled(img, 36), "gif"));
        }
        // Files that are not images; with image names so a directory listing picks them.
        Path bin = root.resolve("9-ankle-boot");
        byte[] png = Files.readAllBytes(good.get(0));
        byte[] jpg = Files.readAllBytes(good.get(7));
        for (int i = 0; i < 6; i++) {
            byte[] noise = new byte[100 + random.nextInt(2000)];
            random.nextBytes(noise);
            bad.add(Files.write(bin.resolve("corrupt-" + i + ".png"), noise));
            bad.add(Files.write(bin.resolve("truncated-" + i + (i % 2 == 0 ? ".png" : ".jpg")),
                    Arrays.copyOf(i % 2 == 0 ? png : jpg, (i % 2 == 0 ? png : jpg).length * (2 + i) / 10)));
        }
        bad.add(Files.write(bin.resolve("notes.jpg"), "not an image\n".getBytes(StandardCharsets.UTF_8)));
        bad.add(Files.write(bin.resolve("empty.png"), new byte[0]));
        byte[] header = Arrays.copyOf(png, png.length);
        header[16] = 0x7f; // a width of about two billion in the IHDR chunk
        bad.add(Files.write(bin.resolve("huge-header.png"), header));
        // Too large for a Java array (sparse: no disk space): Spark's own reader fails the job on it.
        Path huge = bin.resolve("huge-file.png");
        try (RandomAccessFile f = new RandomAccessFile(huge.toFile(), "rw")) {
            f.setLength(Integer.MAX_VALUE + 100L);
        }
        bad.add(huge);
        // Picked by the last extension in any case, as vit classify DIR does; not by one inside the name, nor by a
        // name that is only an extension: neither the CLI nor the job sees the last two.
        good.add(Files.write(bin.resolve("0000-ankle-boot-shout.PNG"), png));
        Files.write(bin.resolve("notes.png.txt"), png);
        Files.write(bin.resolve(".png"), png);
        // Names that Spark's own file listing skips, and two links from a directory to itself: a listing that follows
        // them without noticing the loop never ends (2 to the 40th paths before the system refuses to resolve them).
        good.add(Files.write(bin.resolve("_0000-ankle-boot-underscore.png"), png));
        good.add(Files.write(Files.createDirectories(bin.resolve(".hidden")).resolve("0000-ankle-boot.png"), png));
        List<Path> loops = List.of(Files.createSymbolicLink(bin.resolve("loop"), bin),
                Files.createSymbolicLink(bin.resolve("loop-too"), bin));
        return new Tree(root, good, bad, loops);
    }

    private static Path write(Path file, BufferedImage img, String format) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        if (!ImageIO.write(img, format, bytes)) {
            throw new IOException("no writer for " + format);
        }
        return Files.write(file, bytes.toByteArray());
    }

    private static BufferedImage transform(BufferedImage img, AffineTransform t) {
        BufferedImage out = new BufferedImage(img.getWidth(), img.getHeight(), BufferedImage.TYPE_BYTE_GRAY);
        Graphics2D g = out.createGraphics();
        g.drawImage(img, t, null);
        g.dispose();
        return out;
    }

    private static BufferedImage invert(BufferedImage img) {
        BufferedImage out = new BufferedImage(img.getWidth(), img.getHeight(), BufferedImage.TYPE_BYTE_GRAY);
        for (int y = 0; y < img.getHeight(); y++) {
            for (int x = 0; x < img.getWidth(); x++) {
                int v = 255 - (img.getRGB(x, y) & 0xff);
                out.setRGB(x, y, new Color(v, v, v).getRGB());
            }
        }
        return out;
    }

    private static BufferedImage tint(BufferedImage img, Random random) {
        BufferedImage out = new BufferedImage(img.getWidth(), img.getHeight(), BufferedImage.TYPE_INT_RGB);
        float r = 0.6f + 0.4f * random.nextFloat();
        float b = 0.6f + 0.4f * random.nextFloat();
        for (int y = 0; y < img.getHeight(); y++) {
            for (int x = 0; x < img.getWidth(); x++) {
                int v = img.getRGB(x, y) & 0xff;
                out.setRGB(x, y, new Color((int) (v * r), v, (int) (v * b)).getRGB());
            }
        }
        return out;
    }

    private static BufferedImage scaled(BufferedImage img, int size) {
        BufferedImage out = new BufferedImage(size, size, BufferedImage.TYPE_BYTE_GRAY);
        Graphics2D g = out.createGraphics();
        g.drawImage(img, 0, 0, size, size, null);
        g.dispose();
        return out;
    }
}
