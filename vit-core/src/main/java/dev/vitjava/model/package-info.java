/**
 * The ViT as data, independent of any file format or engine: its architecture
 * ({@link dev.vitjava.model.ViTConfig}, the standard sizes in {@link dev.vitjava.model.StandardArchitectures}), its
 * parameters in timm's layout ({@link dev.vitjava.model.ViTWeights}), and the two together
 * ({@link dev.vitjava.model.ViTModel}), which also caches the bicubically resampled position embeddings
 * ({@link dev.vitjava.model.PosEmbed}). {@link dev.vitjava.model.RandomWeights} builds models for tests and
 * benchmarks.
 */
package dev.vitjava.model;
