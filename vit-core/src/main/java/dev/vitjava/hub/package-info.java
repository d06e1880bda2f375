/**
 * Downloads from the Hugging Face Hub into the cache {@code huggingface_hub} uses, so Python and Java share one
 * copy ({@link dev.vitjava.hub.Hub}).
 */
package dev.vitjava.hub;
