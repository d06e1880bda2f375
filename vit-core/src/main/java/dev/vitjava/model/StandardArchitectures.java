package dev.vitjava.model;

import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The published ViT sizes (Dosovitskiy et al., timm, torchvision). A bare checkpoint tells every dimension
 * through its tensor shapes except the number of heads, which this table supplies by width.
 */
public final class StandardArchitectures {

    /** One published size: width, depth and heads; the MLP is 4 × wider than the tokens. */
    public record Size(String name, String torchvisionLetter, int embedDim, int depth, int numHeads) {
    }

    public static final List<Size> SIZES = List.of(
            new Size("tiny", null, 192, 12, 3),
            new Size("small", null, 384, 12, 6),
            new Size("base", "b", 768, 12, 12),
            new Size("large", "l", 1024, 24, 16),
            new Size("huge", "h", 1280, 32, 16));

    /** Sizes of at most six digits: a longer number is no standard name (and would not fit an int). */
    private static final Pattern TIMM_NAME =
            Pattern.compile("vit_(tiny|small|base|large|huge)_patch(\\d{1,6})_(\\d{1,6})");
    private static final Pattern TORCHVISION_NAME = Pattern.compile("vit_([blh])_(\\d{1,6})");

    private StandardArchitectures() {
    }

    public static OptionalInt headsForEmbedDim(int embedDim) {
        return SIZES.stream().filter(s -> s.embedDim == embedDim).mapToInt(Size::numHeads).findFirst();
    }

    /**
     * The config of a named architecture: timm's {@code vit_base_patch16_224} (an optional {@code .tag} is
     * ignored) or torchvision's {@code vit_b_16} (224 pixels).
     */
    public static Optional<ViTConfig> byName(String architecture, int numClasses) {
        String name = architecture.contains(".") ? architecture.substring(0, architecture.indexOf('.')) : architecture;
        Matcher m = TIMM_NAME.matcher(name);
        if (m.matches()) {
            Size s = SIZES.stream().filter(x -> x.name.equals(m.group(1))).findFirst().orElseThrow();
            int patch = Integer.parseInt(m.group(2));
            int img = Integer.parseInt(m.group(3));
            return Optional.of(config(s, img, patch, numClasses));
        }
        Matcher tv = TORCHVISION_NAME.matcher(name);
        if (tv.matches()) {
            return SIZES.stream().filter(x -> tv.group(1).equals(x.torchvisionLetter)).findFirst()
                    .map(s -> config(s, 224, Integer.parseInt(tv.group(2)), numClasses));
        }
        return Optional.empty();
    }

    private static ViTConfig config(Size s, int img, int patch, int numClasses) {
        return new ViTConfig(img, img, patch, 3, numClasses, s.embedDim, s.depth, s.numHeads, 4 * s.embedDim,
                true, 1e-6, true, ViTConfig.GlobalPool.TOKEN);
    }
}
