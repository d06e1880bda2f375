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
 * <p>Costs to know: an engine compiles one plan for untraced calls and one for traced calls, on first use (2.7 s for
 * vit_tiny on PoCL on 2 cores, whatever the depth); a plan runs every batch size and input resolution its buffers
 * hold, and a larger input replaces it by a plan that holds both (another compilation). Each plan holds its own
 * device copy of the weights, so an engine that also traces holds two.
 */
package dev.vitjava.tornado;
