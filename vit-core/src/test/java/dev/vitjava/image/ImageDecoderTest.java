package dev.vitjava.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import com.fasterxml.jackson.databind.JsonNode;
import dev.vitjava.VitException;
import dev.vitjava.checkpoint.Safetensors;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.stream.Stream;
import java.util.zip.CRC32;
import java.util.zip.Deflater;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/** Decoding against {@code np.array(Image.open(f).convert("RGB" / "L"))} from PIL 9.4, and the failure modes. */
class ImageDecoderTest {

    @TempDir
    Path tmp;

    @TestFactory
    Stream<DynamicTest> decodesLikePil() {
        List<DynamicTest> tests = new ArrayList<>();
        try (Safetensors st = TestData.expected()) {
            JsonNode modes = TestData.metadata(st, "decode");
            for (Iterator<String> it = modes.fieldNames(); it.hasNext(); ) {
                String file = it.next();
                if (file.equals("lossy.webp")) {
                    continue; // see lossyWebpDecodesButIsNotBitExact
                }
                String pilMode = modes.get(file).asText();
                byte[] rgb = TestData.u8(st, "decode." + file + ".rgb");
                byte[] gray = TestData.u8(st, "decode." + file + ".l");
                int[] shape = st.entry("decode." + file + ".rgb").shape();
                tests.add(DynamicTest.dynamicTest(file + " (PIL mode " + pilMode + ")", () -> {
                    ImageDecoder decoder = new ImageDecoder();
                    DecodedImage img = decoder.decode(TestData.format(file));
                    assertThat(img.height()).isEqualTo(shape[0]);
                    assertThat(img.width()).isEqualTo(shape[1]);
                    assertThat(TestData.diff(rgb, img.convert(ColorMode.RGB).pixels())).as("RGB").isNull();
                    assertThat(TestData.diff(gray, img.convert(ColorMode.L).pixels())).as("L").isNull();
                    assertThat(TestData.diff(rgb, decoder.decode(TestData.format(file), ColorMode.RGB).pixels()))
                            .isNull();
                }));
            }
            assertThat(tests).hasSizeGreaterThan(40);
        }
        return tests.stream();
    }

    @Test
    void naturalModeIsLForGrayscaleFiles() {
        ImageDecoder d = new ImageDecoder();
        assertThat(d.decode(TestData.format("jgray.jpg")).mode()).isEqualTo(ColorMode.L);
        assertThat(d.decode(TestData.format("g16.png")).mode()).isEqualTo(ColorMode.L);
        assertThat(d.decode(TestData.format("l.png")).mode()).isEqualTo(ColorMode.L);
        assertThat(d.decode(TestData.format("rgba.png")).mode()).isEqualTo(ColorMode.RGB);
        assertThat(d.decode(TestData.format("jcmyk.jpg")).mode()).isEqualTo(ColorMode.RGB);
    }

    @Test
    void bytesDecodeLikeFiles() throws IOException {
        Path f = TestData.format("j420.jpg");
        DecodedImage a = new ImageDecoder().decode(f);
        DecodedImage b = new ImageDecoder().decode(Files.readAllBytes(f), "upload.jpg");
        assertThat(b).isEqualTo(a);
    }

    @Test
    void lossyWebpDecodesButIsNotBitExact() {
        // TwelveMonkeys' VP8 decoder is not libwebp (which PIL uses): a few levels apart on average
        DecodedImage img = new ImageDecoder().decode(TestData.format("lossy.webp"), ColorMode.RGB);
        try (Safetensors st = TestData.expected()) {
            byte[] pil = TestData.u8(st, "decode.lossy.webp.rgb");
            assertThat(img.pixels()).hasSameSizeAs(pil);
            long sum = 0;
            for (int i = 0; i < pil.length; i++) {
                sum += Math.abs((img.pixels()[i] & 0xff) - (pil[i] & 0xff));
            }
            assertThat((double) sum / pil.length).isLessThan(6.0);
        }
    }

    // ---- failures: one line, names the file, no hang ----

    private static String failure(ImageDecoder decoder, Path file) {
        VitException e = assertTimeoutPreemptively(Duration.ofSeconds(20),
                () -> org.junit.jupiter.api.Assertions.assertThrows(VitException.class, () -> decoder.decode(file)));
        assertThat(e.getMessage()).startsWith(file + ": ").doesNotContain("\n");
        return e.getMessage();
    }

    private Path write(String name, byte[] bytes) throws IOException {
        Path p = tmp.resolve(name);
        Files.write(p, bytes);
        return p;
    }

    private static byte[] prefix(Path file, double fraction) throws IOException {
        byte[] all = Files.readAllBytes(file);
        byte[] out = new byte[(int) (all.length * fraction)];
        System.arraycopy(all, 0, out, 0, out.length);
        return out;
    }

    /** Found by FormatFuzzTest#image: a VP8L file whose Huffman tables run past its end. */
    @Test
    void webpLosslessReadingPastItsEndStops() throws Exception {
        Path file = Path.of(ImageDecoderTest.class.getResource("/dev/vitjava/checkpoint/FormatFuzzTestInputs/image/"
                + "slow-unit-3a581b5ee2d8dbc0331213a4bc2786e7e7130918").toURI());
        assertThat(failure(new ImageDecoder(), file)).contains("WebP", "reads past the end of the data");
    }

    @Test
    void emptyFile() throws IOException {
        assertThat(failure(new ImageDecoder(), write("empty.png", new byte[0]))).contains("empty file");
    }

    @Test
    void textFileNamedPng() throws IOException {
        Path p = write("notes.png", "this is not an image\n".getBytes());
        assertThat(failure(new ImageDecoder(), p)).contains("not a supported image");
    }

    @Test
    void missingFileAndDirectory() {
        assertThat(failure(new ImageDecoder(), tmp.resolve("missing.jpg"))).contains("no such file");
        assertThat(failure(new ImageDecoder(), tmp)).contains("directory");
    }

    @Test
    void truncatedFiles() throws IOException {
        for (String f : new String[] {"rgb.png", "j420.jpg", "jprog.jpg", "p.gif", "rgb.bmp", "lossless.webp",
                "lossy.webp"}) {
            Path p = write("cut_" + f, prefix(TestData.format(f), 0.5));
            assertThat(failure(new ImageDecoder(), p)).as(f).containsIgnoringCase("truncated");
        }
        // cut inside the header, before any pixel data
        Path p = write("head.jpg", prefix(TestData.format("j420.jpg"), 0.05));
        failure(new ImageDecoder(), p);
        // PIL refuses a JPEG that only lacks its EOI marker; so do we
        byte[] all = Files.readAllBytes(TestData.format("j420.jpg"));
        byte[] noEoi = new byte[all.length - 2];
        System.arraycopy(all, 0, noEoi, 0, noEoi.length);
        assertThat(failure(new ImageDecoder(), write("noeoi.jpg", noEoi))).contains("truncated");
    }

    @Test
    void otherFormatsAreRefusedByName() throws IOException {
        java.awt.image.BufferedImage bi = new java.awt.image.BufferedImage(4, 3,
                java.awt.image.BufferedImage.TYPE_BYTE_BINARY);
        Path wbmp = tmp.resolve("fax.wbmp");
        assertThat(javax.imageio.ImageIO.write(bi, "wbmp", wbmp.toFile())).isTrue();
        assertThat(failure(new ImageDecoder(), wbmp)).contains("WBMP images are not supported");
    }

    @Test
    void zeroSizePng() throws IOException {
        failure(new ImageDecoder(), write("zero.png", png(0, 10, new byte[10])));
    }

    @Test
    void pixelLimitIsCheckedBeforeDecoding() throws IOException {
        // a 20000 x 20000 header with almost no data: refused from the header, instantly
        Path bomb = write("bomb.png", png(20000, 20000, new byte[100]));
        String msg = failure(new ImageDecoder(), bomb);
        assertThat(msg).contains("20000x20000", "400000000", String.valueOf(ImageDecoder.DEFAULT_MAX_PIXELS));

        Path img = TestData.format("rgb.png"); // 53 x 37 = 1961 pixels
        assertThat(new ImageDecoder(1961).decode(img).width()).isEqualTo(53);
        assertThat(failure(new ImageDecoder(1960), img)).contains("over the limit of 1960");
        assertThat(failure(new ImageDecoder(100), TestData.format("j420.jpg"))).contains("over the limit");
        assertThat(failure(new ImageDecoder(100), TestData.format("offset.gif"))).contains("17x13");
        assertThat(new ImageDecoder().maxPixels()).isEqualTo(89_478_485L);
        assertThatThrownBy(() -> new ImageDecoder(0)).isInstanceOf(IllegalArgumentException.class);
    }

    /** An 8-bit RGB PNG with the given header size and (not necessarily matching) raw scanline data. */
    private static byte[] png(int width, int height, byte[] raw) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'});
        ByteBuffer ihdr = ByteBuffer.allocate(13).putInt(width).putInt(height).put((byte) 8).put((byte) 2)
                .put((byte) 0).put((byte) 0).put((byte) 0);
        chunk(out, "IHDR", ihdr.array());
        Deflater deflater = new Deflater();
        deflater.setInput(raw);
        deflater.finish();
        byte[] buf = new byte[raw.length + 64];
        int n = deflater.deflate(buf);
        byte[] idat = new byte[n];
        System.arraycopy(buf, 0, idat, 0, n);
        chunk(out, "IDAT", idat);
        chunk(out, "IEND", new byte[0]);
        return out.toByteArray();
    }

    private static void chunk(ByteArrayOutputStream out, String type, byte[] data) throws IOException {
        out.write(ByteBuffer.allocate(4).putInt(data.length).array());
        byte[] t = type.getBytes();
        out.write(t);
        out.write(data);
        CRC32 crc = new CRC32();
        crc.update(t);
        crc.update(data);
        out.write(ByteBuffer.allocate(4).putInt((int) crc.getValue()).array());
    }
}
