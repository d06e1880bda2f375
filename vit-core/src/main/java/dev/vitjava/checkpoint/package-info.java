/**
 * Reading and writing checkpoints. Every weights format implements {@link dev.vitjava.checkpoint.TensorSource}
 * (names, dtypes, shapes, float32 data): {@link dev.vitjava.checkpoint.Safetensors}, shards
 * ({@code ShardedCheckpoint}), PyTorch {@code torch.save} zip archives read by a restricted unpickler that never
 * calls anything ({@code TorchCheckpoint}, {@code Pickle}, {@code ZipArchive}) and JAX {@code .npz}
 * ({@code NpzCheckpoint}). {@link dev.vitjava.checkpoint.ModelLoader} puts the pieces together:
 * {@link dev.vitjava.checkpoint.ModelFiles} finds the files, {@link dev.vitjava.checkpoint.Checkpoints} opens the
 * weights by their first bytes, {@link dev.vitjava.checkpoint.Naming} detects the key naming (and knows each
 * naming's defaults), {@code ConfigReader} builds the architecture and
 * {@link dev.vitjava.checkpoint.PreprocessingReader} the eval-time preprocessing from the config files, and
 * {@code WeightMapper} maps every tensor. The result is a {@link dev.vitjava.checkpoint.LoadedModel}: the ViT, its
 * labels and its parsed preprocessing; no raw JSON leaves this package. {@link dev.vitjava.checkpoint.CheckpointWriter}
 * writes any of them back as safetensors ({@code vit convert}).
 *
 * <p>A new format is a {@code TensorSource} plus one branch in {@code Checkpoints.open}; a format whose layout is
 * not a key naming (JAX's) presents its tensors under timm's names. A new naming is one {@code Naming} constant
 * with its eps, default preprocessing and key mapping. Every reader of file bytes is a target of
 * {@code FormatFuzzTest}.
 */
package dev.vitjava.checkpoint;
