/**
 * Labelled image sets for {@code vit eval}: an ImageFolder tree ({@link dev.vitjava.dataset.ImageFolderDataset})
 * or IDX files ({@link dev.vitjava.dataset.IdxDataset}), and top-1/top-5 bookkeeping
 * ({@link dev.vitjava.dataset.Evaluation}).
 */
package dev.vitjava.dataset;
