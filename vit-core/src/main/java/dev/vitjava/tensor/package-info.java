/**
 * {@link dev.vitjava.tensor.Tensor}, the float32 array with a shape that weights, images, activations and traces
 * share; in its own package so that {@code checkpoint}, {@code image}, {@code model} and {@code engine} use it
 * without depending on each other.
 */
package dev.vitjava.tensor;
