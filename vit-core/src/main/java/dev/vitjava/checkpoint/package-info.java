/**
 * Reading models from disk: {@link dev.vitjava.checkpoint.ModelLoader} finds a model's files, reads safetensors
 * ({@link dev.vitjava.checkpoint.Safetensors}; pickles are refused), detects the key naming (timm, Hugging Face,
 * torchvision: {@link dev.vitjava.checkpoint.Naming}), reads the architecture
 * ({@code ConfigReader}) and the eval-time preprocessing ({@link dev.vitjava.checkpoint.PreprocessingReader}) from
 * the config files, and maps the weights to the model's layout. The result is a
 * {@link dev.vitjava.checkpoint.LoadedModel}: the ViT, its labels and its parsed preprocessing; no raw JSON leaves
 * this package.
 */
package dev.vitjava.checkpoint;
