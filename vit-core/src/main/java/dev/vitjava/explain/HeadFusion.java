package dev.vitjava.explain;

import dev.vitjava.VitException;
import java.util.Locale;

/** How attention rollout combines a block's heads into one matrix: their mean, or their element-wise max or min. */
public enum HeadFusion {
    MEAN, MAX, MIN;

    public static HeadFusion parse(String s) {
        try {
            return valueOf(s.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new VitException("--head-fusion: expected mean, max or min, not '" + s + "'");
        }
    }

    @Override
    public String toString() {
        return name().toLowerCase(Locale.ROOT);
    }
}
