package dev.vitjava.train;

import dev.vitjava.dataset.Dataset;
import dev.vitjava.image.Preprocessing;
import dev.vitjava.tensor.Tensor;
import dev.vitjava.model.ViTConfig;
import java.util.stream.IntStream;

/** A labelled dataset as model input: images through the model's preprocessing (and augmentation), labels as head indices. */
public final class TrainData {

    private final Dataset data;
    private final int[] headIndex;
    private final Preprocessing pre;
    private final int channels;
    private final int height;
    private final int width;

    /**
     * @param headIndex the head's class index of each of the dataset's labels
     */
    public TrainData(Dataset data, int[] headIndex, Preprocessing pre, ViTConfig c) {
        this.data = data;
        this.headIndex = headIndex.clone();
        this.pre = pre;
        this.channels = c.inChans();
        this.height = c.imgHeight();
        this.width = c.imgWidth();
    }

    public int size() {
        return data.size();
    }

    public Dataset dataset() {
        return data;
    }

    /** The head index of sample i's class. */
    public int label(int i) {
        return headIndex[data.label(i)];
    }

    /** Samples order[from, from + n) as a (n, C, H, W) batch; images are decoded and preprocessed in parallel. */
    public Tensor pixels(int[] order, int from, int n, Augmentation aug, int epoch) {
        int size = channels * height * width;
        float[] out = new float[n * size];
        IntStream.range(0, n).parallel().forEach(i -> {
            int sample = order[from + i];
            float[] img = aug.apply(data.image(sample), pre, height, width, epoch, sample);
            if (img.length != size) {
                throw new dev.vitjava.VitException(data.name(sample) + ": preprocessing gives " + img.length
                        + " values, the model takes " + channels + "x" + height + "x" + width);
            }
            System.arraycopy(img, 0, out, i * size, size);
        });
        return Tensor.of(out, n, channels, height, width);
    }
}
