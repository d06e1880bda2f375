package dev.vitjava.dataset;

import dev.vitjava.image.DecodedImage;
import java.util.List;

/** Labelled images for {@code vit eval}: an ImageFolder directory tree or an IDX (MNIST-format) file pair. */
public interface Dataset {

    int size();

    /** Class names in label order. */
    List<String> classNames();

    /** The true label of sample {@code i}. */
    int label(int i);

    /** How sample {@code i} is named in reports: its file, or its index in an IDX file. */
    String name(int i);

    /** Sample {@code i}'s pixels; throws {@link dev.vitjava.VitException} for an unreadable file. */
    DecodedImage image(int i);
}
