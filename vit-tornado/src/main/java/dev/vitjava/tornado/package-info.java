/**
 * The {@code tornado} backend: the ViT forward pass as TornadoVM kernels, for GPUs (OpenCL, PTX, SPIR-V) and
 * for CPUs through OpenCL.
 *
 * <p>{@link dev.vitjava.tornado.TornadoEngineProvider} registers the backend with vit-core's service loader;
 * {@link dev.vitjava.tornado.TornadoEngine} runs a model; {@link dev.vitjava.tornado.ForwardPlan} lays the forward
 * pass out as task graphs (its Javadoc draws the data flow); the kernels are plain static Java methods in
 * {@code dev.vitjava.tornado.kernels}, compiled by TornadoVM at run time.
 *
 * <p>Running it needs a TornadoVM SDK and its JVM options:
 * <pre>
 * java @$TORNADOVM_HOME/tornado-argfile --add-modules jdk.incubator.vector -cp vit.jar:vit-tornado.jar … \
 *      --backend tornado [--device 0:1]
 * </pre>
 * TornadoVM itself comes from the argfile's module path, so the jars of this project do not bundle it. Useful
 * TornadoVM options: {@code -Dtornado.recover.bailout=false} (a kernel that does not compile is an error, not a
 * silent fallback to Java), {@code -Dtornado.opencl.compiler.flags="-w"} (IEEE-strict OpenCL math instead of
 * TornadoVM's default {@code -cl-mad-enable -cl-fast-relaxed-math}), {@code -Dtornado.device.memory=…} (device
 * heap TornadoVM reserves).
 *
 * <p>Costs to know: each input shape (batch size, input resolution), and tracing, compiles its own plan on first
 * use (roughly 0.1–0.2 s per task on a small machine: 7 tasks per block plus 6), and each cached plan holds its
 * own device copy of the weights.
 */
package dev.vitjava.tornado;
