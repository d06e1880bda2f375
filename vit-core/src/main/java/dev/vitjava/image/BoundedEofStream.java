package dev.vitjava.image;

import java.io.IOException;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.ImageInputStreamImpl;

/**
 * An image stream that stops answering reads past its end after {@link #PAST_END_READS} of them. TwelveMonkeys'
 * WebP lossless bit reader treats end-of-file as zero bits, so a truncated or crafted VP8L stream that declares
 * thousands of Huffman tables keeps reading zeros, each read paying for an EOFException, for hours (found by
 * fuzzing, FormatFuzzTest#image). A valid stream reads at most its 8-byte look-ahead past the end; after many more
 * attempts the read fails with an IOException the decoder does not swallow.
 */
final class BoundedEofStream extends ImageInputStreamImpl {
    // positions are this stream's; the wrapped one is sought to them before each read and never flushed (a file
    // stream keeps nothing, an in-memory one holds the file that is in memory anyway)

    static final int PAST_END_READS = 1024;

    private final ImageInputStream in;
    private int pastEnd;

    BoundedEofStream(ImageInputStream in) {
        this.in = in;
    }

    @Override
    public int read() throws IOException {
        bitOffset = 0;
        in.seek(streamPos);
        int b = in.read();
        if (b < 0) {
            return endOfData();
        }
        streamPos++;
        return b;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        bitOffset = 0;
        in.seek(streamPos);
        int n = in.read(b, off, len);
        if (n < 0) {
            return endOfData();
        }
        streamPos += n;
        return n;
    }

    private int endOfData() throws IOException {
        if (++pastEnd > PAST_END_READS) {
            throw new IOException("more than " + PAST_END_READS + " reads past the end of the data");
        }
        return -1;
    }

    @Override
    public long length() {
        try {
            return in.length();
        } catch (IOException e) {
            return -1;
        }
    }

    @Override
    public void close() throws IOException {
        super.close();
        in.close();
    }
}
