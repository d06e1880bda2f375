package dev.vitjava.explain;

import dev.vitjava.image.DecodedImage;
import dev.vitjava.render.Canvas;
import dev.vitjava.render.Heatmaps;
import java.util.List;

/**
 * The pictures of {@code vit attention}, drawn over the preprocessed input (the image the model saw, before
 * normalisation). Small inputs are enlarged by a whole factor to about {@link #DISPLAY} pixels so a 28-pixel image
 * is not a thumbnail; each map is scaled to its own maximum.
 */
public final class AttentionPictures {

    /** Long side that small inputs are enlarged towards (by a whole factor); larger inputs keep their size. */
    static final int DISPLAY = 224;
    /** Long side of a cell of the all-blocks grid. */
    static final int CELL = 96;
    /** Long side of the q·kᵀ picture (by a whole factor per token) for short sequences. */
    static final int QK_SIZE = 400;
    static final int BACKGROUND = 0x1e1e1e;
    static final int INK = 0xffffff;
    private static final int PAD = 4;

    private final DecodedImage base;
    private final int gh;
    private final int gw;

    /**
     * @param base the preprocessed input, RGB or L, at the model's input size
     */
    public AttentionPictures(DecodedImage base, int gh, int gw) {
        this.base = base;
        this.gh = gh;
        this.gw = gw;
    }

    /** Width and height of a picture of the input with long side about {@code target}. */
    static int[] fit(int width, int height, int target) {
        int longSide = Math.max(width, height);
        if (longSide <= target) {
            int k = target / longSide;
            return new int[] {width * k, height * k};
        }
        return new int[] {Math.max(1, width * target / longSide), Math.max(1, height * target / longSide)};
    }

    private int[] displaySize() {
        return fit(base.width(), base.height(), Math.max(DISPLAY, Math.max(base.width(), base.height())));
    }

    /** The rollout mask (gh, gw) over the input. */
    public Canvas rollout(float[] mask) {
        int[] size = displaySize();
        return Heatmaps.overlay(base, mask, 0, gh, gw, size[0], size[1]);
    }

    /** One labelled overlay per head of {@code block}, from cls_attn (depth, heads, gh, gw). */
    public Canvas block(float[] clsAttn, int heads, int block, List<Integer> selectedHeads) {
        int[] size = displaySize();
        int scale = size[0] >= 150 ? 2 : 1;
        int label = Canvas.textHeight(scale) + 2 * PAD;
        int title = Canvas.textHeight(2) + 2 * PAD;
        int n = selectedHeads.size();
        int cols = Math.min(n, 4);
        int rows = (n + cols - 1) / cols;
        int cellW = size[0] + PAD;
        int cellH = size[1] + label;
        Canvas out = new Canvas(PAD + cols * cellW, title + rows * cellH + PAD, BACKGROUND);
        out.text("BLOCK " + block, PAD, PAD, 2, INK);
        int g = gh * gw;
        for (int i = 0; i < n; i++) {
            int h = selectedHeads.get(i);
            int x = PAD + (i % cols) * cellW;
            int y = title + (i / cols) * cellH;
            out.textCentered("HEAD " + h, x + size[0] / 2, y + PAD, scale, INK);
            out.draw(Heatmaps.overlay(base, clsAttn, (block * heads + h) * g, gh, gw, size[0], size[1]), x,
                    y + label);
        }
        return out;
    }

    /** Every block (rows) × every head (columns), small multiples labelled B0… and H0…. */
    public Canvas grid(float[] clsAttn, int depth, int heads) {
        int[] size = fit(base.width(), base.height(), CELL);
        int left = Canvas.textWidth("B" + (depth - 1), 1) + 2 * PAD;
        int top = Canvas.textHeight(1) + 2 * PAD;
        int cellW = size[0] + 2;
        int cellH = size[1] + 2;
        Canvas out = new Canvas(left + heads * cellW + PAD, top + depth * cellH + PAD, BACKGROUND);
        int g = gh * gw;
        for (int h = 0; h < heads; h++) {
            out.textCentered("H" + h, left + h * cellW + size[0] / 2, PAD, 1, INK);
        }
        for (int b = 0; b < depth; b++) {
            int y = top + b * cellH;
            out.text("B" + b, PAD, y + (size[1] - Canvas.textHeight(1)) / 2, 1, INK);
            for (int h = 0; h < heads; h++) {
                out.draw(Heatmaps.overlay(base, clsAttn, (b * heads + h) * g, gh, gw, size[0], size[1]),
                        left + h * cellW, y);
            }
        }
        return out;
    }

    /**
     * One head of one block: its queries and keys as T × head_dim images side by side (one colour scale for both),
     * and softmax(q·kᵀ/√d) as a T × T image (scaled to its maximum).
     *
     * @param q     (heads, T, head_dim) of the block from {@code qkOffset} (e.g. in the whole (depth, heads, T,
     *              head_dim)); {@code k} alike
     * @param probs (heads, T, T) of the block
     */
    public static Canvas qk(float[] q, float[] k, int qkOffset, float[] probs, int block, int head, int tokens,
            int headDim) {
        int cell = Math.max(1, QK_SIZE / tokens);
        int at = qkOffset + head * tokens * headDim;
        double lo = Double.POSITIVE_INFINITY;
        double hi = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < tokens * headDim; i++) {
            lo = Math.min(lo, Math.min(q[at + i], k[at + i]));
            hi = Math.max(hi, Math.max(q[at + i], k[at + i]));
        }
        int p0 = head * tokens * tokens;
        double pmax = 0;
        for (int i = 0; i < tokens * tokens; i++) {
            pmax = Math.max(pmax, probs[p0 + i]);
        }
        Canvas qc = Heatmaps.matrix(q, at, tokens, headDim, lo, hi, cell);
        Canvas kc = Heatmaps.matrix(k, at, tokens, headDim, lo, hi, cell);
        Canvas pc = Heatmaps.matrix(probs, p0, tokens, tokens, 0, pmax, cell);
        String pLabel = "SOFTMAX(QK^T/SQRT D)";
        int scale = pc.width() >= Canvas.textWidth(pLabel, 2) ? 2 : 1;
        int title = Canvas.textHeight(scale) + 2 * PAD;
        int label = title + Canvas.textHeight(scale) + 2 * PAD;
        int gap = 4 * PAD;
        int width = PAD + qc.width() + PAD + kc.width() + gap + Math.max(pc.width(), Canvas.textWidth(pLabel, scale))
                + PAD;
        Canvas out = new Canvas(width, label + pc.height() + PAD, BACKGROUND);
        out.text("BLOCK " + block + " HEAD " + head, PAD, PAD, scale, INK);
        int x = PAD;
        out.textCentered("Q", x + qc.width() / 2, title + PAD, scale, INK);
        out.draw(qc, x, label);
        x += qc.width() + PAD;
        out.textCentered("K", x + kc.width() / 2, title + PAD, scale, INK);
        out.draw(kc, x, label);
        x += kc.width() + gap;
        out.text(pLabel, x, title + PAD, scale, INK);
        out.draw(pc, x, label);
        return out;
    }
}
