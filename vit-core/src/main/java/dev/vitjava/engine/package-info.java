/**
 * The backend seam and what every backend shares.
 *
 * <ul>
 *   <li>{@link dev.vitjava.engine.InferenceEngine}: a batch of normalised pixels in; logits, pre-logits and the
 *       requested intermediates out ({@link dev.vitjava.engine.Trace}, asked for with a
 *       {@link dev.vitjava.engine.TraceRequest}); {@link dev.vitjava.engine.InferenceEngine#profile} is the one
 *       timing capability {@code vit bench} uses ({@link dev.vitjava.engine.Profile}: wall time per pass, stage
 *       times, optionally a {@link dev.vitjava.engine.DeviceProfile}).</li>
 *   <li>{@link dev.vitjava.engine.EngineProvider} and {@link dev.vitjava.engine.Backends}: backends are found with
 *       {@link java.util.ServiceLoader} ({@code META-INF/services/dev.vitjava.engine.EngineProvider}); vit-core
 *       registers {@code reference} and {@code cpu} that way, optional modules add theirs. Backend-specific options
 *       travel in {@link dev.vitjava.engine.EngineOptions#settings()}, an open map.</li>
 *   <li>{@link dev.vitjava.engine.ReferenceEngine}: the scalar oracle every backend is tested against
 *       (vit-tests' {@code BackendContractTest}).</li>
 *   <li>Shared pieces: input checks ({@link dev.vitjava.engine.Inputs}), the double erf
 *       ({@link dev.vitjava.engine.Erf}) and the float erf coefficients the fast backends evaluate
 *       ({@link dev.vitjava.engine.ErfFit}), softmax and top-k ({@link dev.vitjava.engine.Predictions}), and
 *       image classification in batches ({@link dev.vitjava.engine.BatchRunner}).</li>
 * </ul>
 *
 * <p>Nothing here names a backend; the {@code cpu} engine lives in {@code engine.cpu}.
 */
package dev.vitjava.engine;
