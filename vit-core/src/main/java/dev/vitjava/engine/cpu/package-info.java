/**
 * The {@code cpu} backend's math: {@link dev.vitjava.engine.cpu.CpuEngine} runs the forward pass with packed
 * weights ({@code PackedLinear}), a register-tiled GEMM with fused epilogues ({@code Gemm}), fused attention
 * ({@code Attention}) and vectorised float math ({@link dev.vitjava.engine.cpu.VectorMath}), all in float32 with
 * the Vector API and bit-identical for any thread count.
 *
 * <p>Each kernel class declares its own JIT warm-up calls ({@code warmup()}), which {@code Warmup} runs once per
 * JVM before the first forward pass. The JVM/OS plumbing (native calls, alignment, page release, threads,
 * {@code vit.cpu.*} switches) is in {@code engine.cpu.platform}; {@link dev.vitjava.engine.cpu.Kernels} is the
 * public door the JMH benchmarks use. Why each trick is there, and what it measured: {@code docs/performance.md}.
 */
package dev.vitjava.engine.cpu;
