package dev.vitjava.render;

import dev.vitjava.io.Outputs;
import java.io.IOException;
import java.nio.file.Path;
import javax.imageio.ImageIO;

/** Writes pictures as PNG (ImageIO's encoder); the file appears only when complete. */
public final class Png {

    private Png() {
    }

    public static void write(Canvas canvas, Path target) {
        Outputs.writeAtomically(target, out -> {
            if (!ImageIO.write(canvas.toImage(), "png", out)) {
                throw new IOException("no PNG encoder");
            }
        });
    }
}
