package dev.vitjava.render;

/**
 * A 5×7 bitmap font for labels (digits, capitals and a little punctuation; lower case is drawn as capitals). Labels
 * are drawn without AWT fonts, which a headless JDK may not have (no fontconfig, no font files).
 */
final class Glyphs {

    static final int WIDTH = 5;
    static final int HEIGHT = 7;
    /** Horizontal advance per character, the glyph and one column of space. */
    static final int ADVANCE = WIDTH + 1;

    private static final String CHARS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ -.:()/=_^,?";
    /** Per character, 7 rows of 5 bits as hex pairs, top row first, bit 4 the leftmost column. */
    private static final String[] ROWS = {
        "0E11131519110E", "040C040404040E", "0E11010204081F", "1F02040201110E", "02060A121F0202",
        "1F101E0101110E", "0608101E11110E", "1F010204080808", "0E11110E11110E", "0E11110F01020C",
        "0E11111F111111", "1E11111E11111E", "0E11101010110E", "1C12111111121C", "1F10101E10101F",
        "1F10101E101010", "0E11101711110F", "1111111F111111", "0E04040404040E", "0702020202120C",
        "11121418141211", "1010101010101F", "111B1515111111", "11111915131111", "0E11111111110E",
        "1E11111E101010", "0E11111115120D", "1E11111E141211", "0F10100E01011E", "1F040404040404",
        "1111111111110E", "11111111110A04", "1111111515150A", "11110A040A1111", "1111110A040404",
        "1F01020408101F",
        "00000000000000", "0000001F000000", "00000000000C0C", "000C0C000C0C00", "02040808080402",
        "08040202020408", "00010204081000", "00001F001F0000", "0000000000001F", "040A1100000000",
        "000000000C0408", "0E110102040004",
    };

    private Glyphs() {
    }

    /** Width in pixels of {@code text} at {@code scale}. */
    static int width(String text, int scale) {
        return text.isEmpty() ? 0 : (text.length() * ADVANCE - 1) * scale;
    }

    /** Whether the pixel (x, y) of the glyph for {@code ch} is set; unknown characters draw as '?'. */
    static boolean pixel(char ch, int x, int y) {
        int i = CHARS.indexOf(Character.toUpperCase(ch));
        String rows = ROWS[i < 0 ? CHARS.indexOf('?') : i];
        int bits = Integer.parseInt(rows.substring(2 * y, 2 * y + 2), 16);
        return (bits >> (WIDTH - 1 - x) & 1) != 0;
    }
}
