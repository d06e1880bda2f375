/**
 * Image decoding and preprocessing that reproduce PIL 9.4 and the torchvision / timm / Hugging Face eval pipelines
 * bit for bit, so that a model sees exactly the tensor it would see in Python.
 *
 * <ul>
 *   <li>{@link dev.vitjava.image.ImageDecoder}: JPEG, PNG, BMP, GIF and WebP files to 8-bit RGB or L, as
 *       {@code Image.open(f).convert(mode)}, with a pixel limit checked before decoding.</li>
 *   <li>{@link dev.vitjava.image.PilResize}: {@code Image.resize} with PIL's filters and fixed-point
 *       arithmetic.</li>
 *   <li>{@link dev.vitjava.image.Transforms}: torchvision's Resize and CenterCrop size arithmetic, timm's
 *       ResizeKeepRatio, Hugging Face's center crop.</li>
 *   <li>{@link dev.vitjava.image.Preprocessing}: a whole pipeline (the record, its {@code with...} overrides and
 *       its execution), producing a (C, H, W) float32 tensor. Reading it from a checkpoint's config files is
 *       {@code checkpoint.PreprocessingReader}'s job: this package knows no config format.</li>
 * </ul>
 *
 * <p>Typical use: {@code loaded.preprocessing().load(path)}.
 */
package dev.vitjava.image;
