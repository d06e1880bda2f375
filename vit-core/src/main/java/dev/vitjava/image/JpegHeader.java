package dev.vitjava.image;

import java.io.EOFException;
import java.io.IOException;
import javax.imageio.stream.ImageInputStream;

/**
 * What libjpeg reads from a JPEG's markers before the first scan to decide its colour space: the JFIF and Adobe
 * APP markers and the frame's component ids ({@code default_decompress_parms} in libjpeg's jdapimin.c). The pixel
 * data itself is decoded by ImageIO without colour conversion; this decides the conversion PIL would get.
 */
record JpegHeader(boolean sawJfif, boolean sawAdobe, int adobeTransform, int sofMarker, int precision,
        int[] componentIds, int[] hSamp, int[] vSamp) {

    /**
     * Whether a component is subsampled vertically only (4:4:0): libjpeg-turbo upsamples it with its "fancy"
     * triangle filter, the JDK's libjpeg 6b by replicating rows, so the decoder redoes it.
     */
    boolean verticalOnlySubsampled(int component) {
        int hmax = 0;
        int vmax = 0;
        for (int i = 0; i < hSamp.length; i++) {
            hmax = Math.max(hmax, hSamp[i]);
            vmax = Math.max(vmax, vSamp[i]);
        }
        return hSamp[component] == hmax && vSamp[component] * 2 == vmax;
    }

    /** libjpeg's guess at the stored colour space. */
    enum Space { GRAY, YCBCR, RGB, CMYK, YCCK, UNKNOWN }

    Space space() {
        int n = componentIds.length;
        switch (n) {
            case 1:
                return Space.GRAY;
            case 3:
                if (sawJfif) {
                    return Space.YCBCR;
                }
                if (sawAdobe) {
                    return adobeTransform == 0 ? Space.RGB : Space.YCBCR;
                }
                if (componentIds[0] == 1 && componentIds[1] == 2 && componentIds[2] == 3) {
                    return Space.YCBCR;
                }
                if (componentIds[0] == 'R' && componentIds[1] == 'G' && componentIds[2] == 'B') {
                    return Space.RGB;
                }
                return Space.YCBCR;
            case 4:
                if (sawAdobe) {
                    return adobeTransform == 0 ? Space.CMYK : Space.YCCK;
                }
                return Space.CMYK;
            default:
                return Space.UNKNOWN;
        }
    }

    /** Scans markers from SOI up to the first SOS; leaves the stream position undefined. */
    static JpegHeader read(ImageInputStream in) throws IOException {
        in.seek(0);
        if (in.read() != 0xFF || in.read() != 0xD8) {
            throw new IOException("not a JPEG file (no SOI marker)");
        }
        boolean jfif = false;
        boolean adobe = false;
        int transform = 0;
        int precision = 0;
        int sof = 0;
        int[] ids = null;
        int[] hs = null;
        int[] vs = null;
        while (true) {
            int b = in.read();
            // libjpeg skips garbage before a marker, then any number of 0xFF fill bytes
            while (b != 0xFF) {
                if (b < 0) {
                    throw new EOFException("file ends before the first scan");
                }
                b = in.read();
            }
            int marker;
            do {
                marker = in.read();
            } while (marker == 0xFF);
            if (marker < 0) {
                throw new EOFException("file ends before the first scan");
            }
            if (marker == 0x00 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD8)) {
                continue; // stuffed byte, TEM, RSTn, SOI: no length
            }
            if (marker == 0xD9) {
                throw new IOException("no image data (EOI before the first scan)");
            }
            int length = in.readUnsignedShort();
            if (length < 2) {
                throw new IOException("bad marker length " + length);
            }
            long next = in.getStreamPosition() + length - 2;
            if (marker == 0xDA) {
                if (ids == null) {
                    throw new IOException("scan before the frame header");
                }
                return new JpegHeader(jfif, adobe, transform, sof, precision, ids, hs, vs);
            }
            if (marker == 0xE0 && length - 2 >= 14) {
                byte[] d = new byte[5];
                in.readFully(d);
                if (d[0] == 'J' && d[1] == 'F' && d[2] == 'I' && d[3] == 'F' && d[4] == 0) {
                    jfif = true;
                }
            } else if (marker == 0xEE && length - 2 >= 12) {
                byte[] d = new byte[12];
                in.readFully(d);
                if (d[0] == 'A' && d[1] == 'd' && d[2] == 'o' && d[3] == 'b' && d[4] == 'e') {
                    adobe = true;
                    transform = d[11] & 0xff;
                }
            } else if (marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC) {
                sof = marker;
                precision = in.read();
                in.readUnsignedShort(); // height
                in.readUnsignedShort(); // width
                int n = in.read();
                if (n < 0) {
                    throw new EOFException("truncated frame header");
                }
                ids = new int[n];
                hs = new int[n];
                vs = new int[n];
                for (int i = 0; i < n; i++) {
                    ids[i] = in.read();
                    int sampling = in.read();
                    hs[i] = (sampling >> 4) & 0x0f;
                    vs[i] = sampling & 0x0f;
                    in.read(); // quantisation table
                }
            }
            in.seek(next);
        }
    }
}
