/**
 * The cpu engine's JVM and OS plumbing, apart from its math: the foreign-function calls it makes ({@code Native}),
 * cache-line alignment of arrays ({@link dev.vitjava.engine.cpu.platform.CacheLines}), release of mapped checkpoint
 * pages ({@link dev.vitjava.engine.cpu.platform.MappedPages}), the worker threads
 * ({@link dev.vitjava.engine.cpu.platform.WorkerPool}) and the {@code vit.cpu.*} switches
 * ({@link dev.vitjava.engine.cpu.platform.CpuFlags}). Everything here is optional for correctness: without native
 * access the engine runs the same code unaligned and keeps the mapped pages.
 */
package dev.vitjava.engine.cpu.platform;
